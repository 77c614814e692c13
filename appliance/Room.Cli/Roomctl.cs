using Room.Bus;
using Room.Bus.Client;
using Tmds.DBus.Protocol;

namespace Room.Cli;

/// <summary>
/// roomctl with its standard streams passed in: Program.cs gives it the console; tests run it in-process against a
/// real roomd (a process start per command made the contract's coverage test take most of a minute).
/// Exit codes: 0 on success, 1 when roomd refuses (named error printed), 2 on usage errors, 3 when roomd is unreachable.
/// </summary>
internal static class Roomctl
{
    public static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        try
        {
            var line = CommandLine.Parse(args);
            if (line.Words is [] or ["help"] or ["--help"] or ["-h"])
            {
                await output.WriteLineAsync(Commands.Usage);
                return line.Words.Count == 0 ? 2 : 0;
            }

            if (line.Words is ["enroll", var enrollUrl, var enrollCode])
            {
                // Talks to the meeting server, not to roomd: no bus needed.
                return await Enroll.RunAsync(enrollUrl, enrollCode, output, error);
            }

            if (line.Words is ["fleet", ..])
            {
                // Talks to the fleet broker, not to roomd: no bus needed.
                return await Fleet.RunAsync([.. line.Words.Skip(1)], line.Json, Environment.GetEnvironmentVariable, output, error, cancellationToken);
            }

            using var client = await RoomBusClient.ConnectAsync(line.BusAddress ?? RoomBusClient.DefaultAddress, cancellationToken);
            return await new Commands(client, output, line.Json, input) { PinFromStdin = line.PinFromStdin }.RunAsync(line.Words, cancellationToken);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"roomctl: {ex.Message}\n\n{Commands.Usage}");
            return 2;
        }
        catch (RoomBusException ex) when (ex.ErrorName is "org.freedesktop.DBus.Error.ServiceUnknown" or "org.freedesktop.DBus.Error.NameHasNoOwner")
        {
            await error.WriteLineAsync("roomctl: roomd is not running on this bus.");
            return 3;
        }
        catch (RoomBusException ex)
        {
            await error.WriteLineAsync($"roomctl: {ex.ErrorName}: {ex.Message}");
            return 1;
        }
        catch (DBusConnectFailedException ex)
        {
            await error.WriteLineAsync($"roomctl: cannot reach the bus: {ex.Message}");
            return 3;
        }
        catch (DBusConnectionException ex)
        {
            await error.WriteLineAsync($"roomctl: lost the bus: {ex.Message}");
            return 3;
        }
    }
}
