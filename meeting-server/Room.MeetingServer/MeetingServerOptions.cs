using System.ComponentModel.DataAnnotations;

namespace Room.MeetingServer;

public enum StorageKind
{
    Sqlite,
    Postgres,
}

/// <summary>Configuration section "MeetingServer".</summary>
public sealed class MeetingServerOptions : IValidatableObject
{
    public const string Section = "MeetingServer";

    /// <summary>Where the CA key, the token key and (SQLite) the database live.</summary>
    [Required]
    public string DataDirectory { get; set; } = "/var/lib/room-meeting-server";

    /// <summary>Address and port to listen on with TLS (port 0: any free port, printed on start).</summary>
    [Required]
    public string Listen { get; set; } = "0.0.0.0:8443";

    /// <summary>Names and addresses the server's TLS certificate is issued for (none configured: <see cref="ServerHostNames"/>'s defaults).</summary>
    public List<string> HostNames { get; set; } = [];

    /// <summary>
    /// The server's own host names: those configured, else localhost and 127.0.0.1. (A default list in
    /// <see cref="HostNames"/> would not do: the configuration binder adds configured names to it instead of replacing it.)
    /// </summary>
    public IReadOnlyList<string> ServerHostNames => HostNames.Count > 0 ? HostNames : ["localhost", "127.0.0.1"];

    [Required]
    [MinLength(1)]
    public string Organisation { get; set; } = "Room";

    public StorageKind Storage { get; set; } = StorageKind.Sqlite;

    /// <summary>PostgreSQL connection string (Storage = Postgres).</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>MLS cipher suite of this organisation's meetings (default 2: P-256, AES-128-GCM, SHA-256, ECDSA).</summary>
    [Range(1, 7)]
    public ushort CipherSuite { get; set; } = 2;

    [Range(60, 7 * 24 * 3600)]
    public int TokenLifetimeSeconds { get; set; } = 8 * 3600;

    [Range(60, 30 * 24 * 3600)]
    public int EnrolmentCodeLifetimeSeconds { get; set; } = 7 * 24 * 3600;

    [Range(1, 3650)]
    public int DeviceCertificateDays { get; set; } = 365;

    [Range(1, 720)]
    public int PersonCertificateHours { get; set; } = 12;

    /// <summary>How long a guest invitation link works (it works once).</summary>
    [Range(60, 30 * 24 * 3600)]
    public int GuestInvitationLifetimeSeconds { get; set; } = 24 * 3600;

    /// <summary>Lifetime of a guest's certificate (guest CA) and of its session token.</summary>
    [Range(1, 24)]
    public int GuestCertificateHours { get; set; } = 4;

    /// <summary>Argon2id memory in KiB and passes for local accounts.</summary>
    [Range(8192, 4 * 1024 * 1024)]
    public int Argon2MemoryKiB { get; set; } = 19 * 1024;

    [Range(1, 64)]
    public int Argon2Passes { get; set; } = 2;

    public LdapOptions Ldap { get; set; } = new();

    public Janus.JanusOptions Janus { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Storage == StorageKind.Postgres && string.IsNullOrWhiteSpace(PostgresConnectionString))
        {
            yield return new ValidationResult("Storage = Postgres needs PostgresConnectionString", [nameof(PostgresConnectionString)]);
        }

        if (!System.Net.IPEndPoint.TryParse(Listen, out _))
        {
            yield return new ValidationResult($"Listen '{Listen}' is not ADDRESS:PORT", [nameof(Listen)]);
        }

        if (Janus.Url is not null && (string.IsNullOrEmpty(Janus.TokenSecret) || string.IsNullOrEmpty(Janus.AdminKey)))
        {
            yield return new ValidationResult("Janus needs TokenSecret (token_auth_secret) and AdminKey (videoroom admin_key)", [nameof(Janus)]);
        }

        foreach (var (url, key) in new[] { (Janus.Url, "Url"), (Janus.PublicUrl, "PublicUrl") })
        {
            if (url is not null && url.Scheme != "wss")
            {
                yield return new ValidationResult($"Janus.{key} '{url}' must be wss:// (Janus's WebSocket with TLS, its certificate from the organisation CA)", [nameof(Janus)]);
            }
        }

        if (Janus.CaCertificateFile is { } caFile && !File.Exists(caFile))
        {
            yield return new ValidationResult($"Janus.CaCertificateFile '{caFile}' does not exist", [nameof(Janus)]);
        }

        if (Ldap.Host is not null && !Ldap.UserDnTemplate.Contains("{0}", StringComparison.Ordinal))
        {
            yield return new ValidationResult("Ldap.UserDnTemplate must contain {0}", [nameof(Ldap)]);
        }
    }
}

/// <summary>The organisation's directory: people sign in with an LDAP simple bind as UserDnTemplate.</summary>
public sealed class LdapOptions
{
    /// <summary>Null: no directory, local accounts only.</summary>
    public string? Host { get; set; }

    public int Port { get; set; } = 389;

    /// <summary>e.g. "uid={0},ou=people,dc=example,dc=org"; {0} is the escaped user name.</summary>
    public string UserDnTemplate { get; set; } = "uid={0},ou=people,dc=example,dc=org";
}
