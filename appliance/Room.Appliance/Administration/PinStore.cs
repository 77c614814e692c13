using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using NSec.Cryptography;

namespace Room.Appliance.Administration;

/// <summary>
/// The admin PIN as a salted Argon2id hash (libsodium through NSec) in STATE/admin-pin, mode 0600, written atomically.
/// The PIN itself is never stored, logged or kept in memory beyond a check.
/// </summary>
public sealed class PinStore
{
    public const string FileName = "admin-pin";
    public const int MinDigits = 6;
    public const int MaxDigits = 12;

    // OWASP's Argon2id baseline (19 MiB, 2 passes, 1 lane): about 50-100 ms here, which also slows guessing.
    private const long MemoryKiB = 19 * 1024;
    private const long Passes = 2;
    private const int HashBytes = 32;

    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private PinRecord? _record;

    public PinStore(string stateDirectory, ILogger<PinStore> logger)
    {
        _logger = logger;
        Path = System.IO.Path.Combine(stateDirectory, FileName);
        var bytes = AtomicFile.Read(Path, out var problem);
        if (problem is not null)
        {
            logger.LogError("Admin PIN file broken ({Problem}); {Using}", problem, bytes is null ? "no PIN is set: root must set one" : "using the last good one");
        }

        if (bytes is not null)
        {
            try
            {
                _record = JsonSerializer.Deserialize(bytes, PinJson.Default.PinRecord);
                if (_record is null || _record.Algorithm != "argon2id" || _record.Salt.Length < 16 || _record.Hash.Length != HashBytes
                    || _record.MemoryKiB <= 0 || _record.Passes <= 0)
                {
                    logger.LogError("Admin PIN file {Path} holds no usable Argon2id hash; no PIN is set", Path);
                    _record = null;
                }
            }
            catch (JsonException)
            {
                logger.LogError("Admin PIN file {Path} is not a PIN record; no PIN is set", Path);
            }
        }
    }

    public string Path { get; }

    public bool IsSet
    {
        get
        {
            lock (_gate)
            {
                return _record is not null;
            }
        }
    }

    /// <summary>Refuses anything but 6 to 12 digits (the message never repeats the PIN).</summary>
    public static void Validate(string pin)
    {
        ArgumentNullException.ThrowIfNull(pin);
        if (pin.Length is < MinDigits or > MaxDigits || !pin.All(char.IsAsciiDigit))
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"A PIN is {MinDigits} to {MaxDigits} digits.");
        }
    }

    /// <summary>Hashes and stores a new PIN (6-12 digits unless <paramref name="legacyLength"/>: 4-12 from old room.json).</summary>
    public void Set(string pin, bool legacyLength = false)
    {
        if (!legacyLength)
        {
            Validate(pin);
        }

        var salt = RandomNumberGenerator.GetBytes(16);
        var record = new PinRecord("argon2id", MemoryKiB, Passes, salt, Derive(pin, salt, MemoryKiB, Passes));
        lock (_gate)
        {
            AtomicFile.Write(Path, JsonSerializer.SerializeToUtf8Bytes(record, PinJson.Default.PinRecord), (UnixFileMode)0b110_000_000);
            _record = record;
        }

        _logger.LogInformation("Admin PIN changed");
    }

    /// <summary>True when <paramref name="pin"/> is the stored one (constant-time comparison); false when none is set.</summary>
    public bool Verify(string pin)
    {
        ArgumentNullException.ThrowIfNull(pin);
        PinRecord? record;
        lock (_gate)
        {
            record = _record;
        }

        if (record is null || pin.Length > 64)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Derive(pin, record.Salt, record.MemoryKiB, record.Passes), record.Hash);
    }

    /// <summary>Forgets the PIN (factory reset).</summary>
    public void Delete()
    {
        lock (_gate)
        {
            AtomicFile.Delete(Path);
            _record = null;
        }
    }

    private static byte[] Derive(string pin, byte[] salt, long memoryKiB, long passes)
    {
        var argon = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters
        {
            DegreeOfParallelism = 1,
            MemorySize = memoryKiB,
            NumberOfPasses = passes,
        });
        return argon.DeriveBytes(pin, salt, HashBytes);
    }
}

public sealed record PinRecord(
    [property: JsonPropertyName("alg")] string Algorithm,
    [property: JsonPropertyName("m")] long MemoryKiB,
    [property: JsonPropertyName("t")] long Passes,
    [property: JsonPropertyName("salt")] byte[] Salt,
    [property: JsonPropertyName("hash")] byte[] Hash);

[JsonSerializable(typeof(PinRecord))]
internal sealed partial class PinJson : JsonSerializerContext;
