using Room.Bus.Server;

namespace Room.Appliance.Administration;

/// <summary>
/// System.CheckAdminPin, the panel's PIN screen: true for the right PIN, which also opens an admin session for the
/// calling connection (<see cref="AdminAuthorizer"/>); false for a wrong one, counted against the caller's Unix user.
/// </summary>
public sealed class AdminPinVerifier(AdminAuthorizer authorizer, PinStore pins)
{
    public async Task<bool> CheckAsync(BusCaller? caller, string pin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pin);
        if (!pins.IsSet)
        {
            throw new AdminRefusedException(AdminRefusalKind.NotSupported, "No admin PIN is set on this room (root sets one: roomctl admin pin set).");
        }

        return await authorizer.TryUnlockAsync(caller, pin, cancellationToken) is not null;
    }
}
