using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Rtc.Ice;

namespace Room.Appliance.Meeting;

/// <summary>
/// One entry of <c>Room:IceServers</c>: STUN/TURN URLs sharing one set of credentials. The credential (TURN password)
/// is read from <see cref="CredentialFile"/> on the data partition, never from room.json, and never logged.
/// </summary>
public sealed class IceServerOptions
{
    /// <summary><c>stun:host[:port]</c>, <c>turn:host[:port][?transport=udp|tcp]</c>, <c>turns:host[:port]</c>.</summary>
    public List<string> Urls { get; set; } = [];

    /// <summary>The TURN username (long-term credentials, RFC 8489 9.2); required for turn:/turns: URLs.</summary>
    public string Username { get; set; } = "";

    /// <summary>A file under <see cref="RoomOptions.StateDirectory"/> (relative to it) whose first line is the TURN password.</summary>
    public string CredentialFile { get; set; } = "";

    /// <summary>PEM certificates that turns: servers must chain to; empty: the system's trust store.</summary>
    public string CaFile { get; set; } = "";
}

/// <summary>Checks <c>Room:IceServers</c> at start: every URL parses, TURN has a username and a readable credential file, CA files load.</summary>
public sealed class IceServersValidator : IValidateOptions<RoomOptions>
{
    public ValidateOptionsResult Validate(string? name, RoomOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        for (int i = 0; i < options.IceServers.Count; i++)
        {
            var entry = options.IceServers[i];
            string at = $"Room:IceServers:{i}";
            if (entry.Urls.Count == 0) failures.Add($"{at}:Urls is empty (give at least one stun:, turn: or turns: URL).");
            bool turn = false, tls = false, malformed = false;
            for (int u = 0; u < entry.Urls.Count; u++)
            {
                if (!IceServerUrl.TryParse(entry.Urls[u], out var url, out string error))
                {
                    failures.Add($"{at}:Urls:{u} is not a STUN/TURN URL: {error}.");
                    malformed = true;
                    // A malformed turn:/turns: URL still says the entry is for TURN: its credentials are checked too.
                    turn |= entry.Urls[u]?.StartsWith("turn", StringComparison.OrdinalIgnoreCase) == true;
                    tls |= entry.Urls[u]?.StartsWith("turns:", StringComparison.OrdinalIgnoreCase) == true;
                    continue;
                }

                turn |= url!.Scheme == IceServerScheme.Turn;
                tls |= url.Transport == TurnTransport.Tls;
            }

            if (turn)
            {
                if (string.IsNullOrWhiteSpace(entry.Username)) failures.Add($"{at}:Username is required for turn: and turns: URLs.");
                if (IceServerSet.ReadCredential(options.StateDirectory, entry.CredentialFile, out string problem) is null)
                    failures.Add($"{at}:CredentialFile {problem}");
            }
            else if (!malformed && (entry.Username.Length > 0 || entry.CredentialFile.Length > 0))
            {
                failures.Add($"{at} has a username or credential but only stun: URLs (STUN needs none).");
            }

            if (entry.CaFile.Length > 0)
            {
                if (!tls && !malformed) failures.Add($"{at}:CaFile is only used for turns: URLs.");
                else if (IceServerSet.LoadRoots(entry.CaFile, out string problem) is null) failures.Add($"{at}:CaFile {problem}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>What a call gathers candidates from: STUN servers and TURN relays, resolved when a call starts.</summary>
public sealed record CallIceServers(IReadOnlyList<(string Label, IPEndPoint EndPoint)> Stun, IReadOnlyList<TurnRelayServer> Turn)
{
    public static readonly CallIceServers None = new([], []);
}

/// <summary>The configured STUN/TURN servers (<c>Room:IceServers</c>); resolves names and reads credentials per call.</summary>
public sealed class IceServerSet(IOptions<RoomOptions> options, ILogger<IceServerSet> logger)
{
    private const int MaxCredentialBytes = 1024;

    /// <summary>True when any server is configured.</summary>
    public bool Any => options.Value.IceServers.Count > 0;

    /// <summary>
    /// Resolves every configured server for a call (DNS now, so a changed address is followed) and reads the
    /// credentials; a server that cannot be resolved or read is left out with a warning (the call may still work
    /// directly or through the others).
    /// </summary>
    public async Task<CallIceServers> ResolveAsync(CancellationToken ct)
    {
        var room = options.Value;
        var stun = new List<(string, IPEndPoint)>();
        var turn = new List<TurnRelayServer>();
        foreach (var entry in room.IceServers)
        {
            string? password = null;
            X509Certificate2Collection? roots = entry.CaFile.Length > 0 ? LoadRoots(entry.CaFile, out _) : null;
            foreach (var text in entry.Urls)
            {
                if (!IceServerUrl.TryParse(text, out var url, out _)) continue; // refused at start
                IPAddress address;
                try
                {
                    address = IPAddress.TryParse(url!.Host, out var literal) ? literal
                        : (await Dns.GetHostAddressesAsync(url.Host, AddressFamily.InterNetwork, ct).ConfigureAwait(false)).FirstOrDefault()
                          ?? throw new SocketException((int)SocketError.HostNotFound);
                }
                catch (SocketException ex)
                {
                    logger.LogWarning("ICE server {Url} not used for this call: {Host} does not resolve ({Message})", url!.ToString(), url.Host, ex.Message);
                    continue;
                }

                var endPoint = new IPEndPoint(address, url.Port);
                if (url.Scheme == IceServerScheme.Stun)
                {
                    stun.Add((url.ToString(), endPoint));
                    continue;
                }

                string problem = "";
                if (password is null) password = ReadCredential(room.StateDirectory, entry.CredentialFile, out problem);
                if (password is null)
                {
                    logger.LogWarning("TURN server {Url} not used for this call: credential file {Problem}", url.ToString(), problem);
                    continue;
                }

                turn.Add(new TurnRelayServer(endPoint, url.Transport, entry.Username, password)
                {
                    ServerName = url.Host, TrustedRoots = roots, Label = url.ToString(),
                });
            }
        }

        return new CallIceServers(stun, turn);
    }

    /// <summary>
    /// The TURN password from <paramref name="file"/> (relative to <paramref name="stateDirectory"/>, inside it): its
    /// first line. Null with the reason (never the content) if it is missing, outside the data partition, empty or too long.
    /// </summary>
    public static string? ReadCredential(string stateDirectory, string file, out string problem)
    {
        if (string.IsNullOrWhiteSpace(file))
        {
            problem = "is required for turn: and turns: URLs (a file under Room:StateDirectory holding the password).";
            return null;
        }

        string root = Path.GetFullPath(stateDirectory) + Path.DirectorySeparatorChar;
        string path = Path.GetFullPath(Path.Combine(stateDirectory, file));
        if (!path.StartsWith(root, StringComparison.Ordinal))
        {
            problem = $"'{file}' is outside Room:StateDirectory (credentials live on the data partition).";
            return null;
        }

        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                problem = $"'{file}' does not exist under {stateDirectory}.";
                return null;
            }

            if (info.Length > MaxCredentialBytes)
            {
                problem = $"'{file}' is larger than {MaxCredentialBytes} bytes.";
                return null;
            }

            string text = File.ReadAllText(path);
            int end = text.IndexOfAny(['\r', '\n']);
            string credential = end >= 0 ? text[..end] : text;
            if (credential.Length == 0)
            {
                problem = $"'{file}' is empty (its first line is the password).";
                return null;
            }

            problem = "";
            return credential;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = $"'{file}' cannot be read: {ex.Message}";
            return null;
        }
    }

    /// <summary>The certificates in a PEM file; null with the reason if there are none or it cannot be read.</summary>
    public static X509Certificate2Collection? LoadRoots(string file, out string problem)
    {
        try
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(file);
            if (roots.Count == 0)
            {
                problem = $"'{file}' holds no PEM certificate.";
                return null;
            }

            problem = "";
            return roots;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            problem = $"'{file}' cannot be read as PEM certificates: {ex.Message}";
            return null;
        }
    }
}
