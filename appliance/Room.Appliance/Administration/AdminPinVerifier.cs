using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Bus;

namespace Room.Appliance.Administration;

/// <summary>
/// Checks the touch panel's admin PIN in constant time, and locks out after repeated failures so that a
/// 4-digit PIN cannot be guessed through the bus.
/// </summary>
public sealed class AdminPinVerifier(IOptions<RoomOptions> options, TimeProvider time, ILogger<AdminPinVerifier> logger)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromSeconds(60);

    // Hashed on the first check: an idle roomd then never loads the crypto stack for it.
    private byte[]? _expected;
    private readonly bool _configured = options.Value.AdminPin.Length > 0;
    private readonly Lock _gate = new();
    private int _failures;
    private DateTimeOffset _lockedUntil = DateTimeOffset.MinValue;

    public bool Check(string pin)
    {
        if (!_configured)
        {
            throw new RoomBusException(BusErrors.NotSupported, "No admin PIN is configured on this room (Room:AdminPin).");
        }

        if (pin.Length > 64)
        {
            throw new RoomBusException(BusErrors.InvalidArgument, "A PIN is at most 64 characters.");
        }

        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (now < _lockedUntil)
            {
                throw new RoomBusException(BusErrors.LockedOut, $"Too many wrong PINs; try again in {Math.Ceiling((_lockedUntil - now).TotalSeconds)} s.");
            }

            _expected ??= SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.AdminPin));
            var ok = CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(pin)), _expected);
            if (ok)
            {
                _failures = 0;
                return true;
            }

            if (++_failures >= MaxFailures)
            {
                _failures = 0;
                _lockedUntil = now + LockoutDuration;
                logger.LogWarning("Admin PIN: {Max} wrong attempts, locked for {Seconds} s", MaxFailures, LockoutDuration.TotalSeconds);
            }

            return false;
        }
    }
}
