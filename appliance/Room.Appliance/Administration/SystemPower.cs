using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace Room.Appliance.Administration;

/// <summary>Restarts the box. Behind an interface so that tests never reboot the machine they run on.</summary>
public interface ISystemPower
{
    /// <summary>Null when this can restart the box, else why not (Reboot and FactoryReset are then refused).</summary>
    string? Unavailable { get; }

    Task RebootAsync(CancellationToken cancellationToken);
}

/// <summary>Admin:Power = none: nothing configured to restart the box (the default outside the appliance image).</summary>
public sealed class NoSystemPower : ISystemPower
{
    public string? Unavailable => "roomd has no way to restart this machine configured (Admin:Power is none).";

    public Task RebootAsync(CancellationToken cancellationToken) =>
        throw new AdminRefusedException(AdminRefusalKind.NotSupported, Unavailable!);
}

/// <summary>Admin:Power = simulated: each request is appended to a file (tests, make run).</summary>
public sealed class SimulatedSystemPower(string log, ILogger<SimulatedSystemPower> logger) : ISystemPower
{
    public string? Unavailable => log.Length == 0 ? "Admin:SimulatedPowerLog is not set." : null;

    public async Task RebootAsync(CancellationToken cancellationToken)
    {
        logger.LogWarning("Reboot requested (simulated: recorded in {Log})", log);
        await File.AppendAllTextAsync(log, "reboot\n", cancellationToken);
    }
}

/// <summary>Admin:Power = logind: org.freedesktop.login1.Manager.Reboot on the system bus (polkit decides for roomd's user).</summary>
public sealed class LogindSystemPower(ILogger<LogindSystemPower> logger) : ISystemPower
{
    public string? Unavailable => DBusAddress.System is null ? "No system bus to reach systemd-logind." : null;

    public async Task RebootAsync(CancellationToken cancellationToken)
    {
        using var connection = new DBusConnection(DBusAddress.System!);
        await connection.ConnectAsync();
        MessageBuffer message;
        using (var writer = connection.GetMessageWriter())
        {
            writer.WriteMethodCallHeader("org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager", "Reboot", "b");
            writer.WriteBool(false);
            message = writer.CreateMessage();
        }

        logger.LogWarning("Rebooting through systemd-logind");
        try
        {
            await connection.CallMethodAsync(message).WaitAsync(cancellationToken);
        }
        catch (DBusErrorReplyException ex)
        {
            throw new AdminRefusedException(AdminRefusalKind.Failed, $"systemd-logind refused to reboot: {ex.ErrorName}: {ex.ErrorMessage}");
        }
    }
}
