using Room.Bus;
using Room.Bus.Client;
using Room.Cli;
using Tmds.DBus.Protocol;

// roomctl: exit 0 on success, 1 when roomd refuses (named error printed), 2 on usage errors, 3 when roomd is unreachable.
try
{
    var line = CommandLine.Parse(args);
    if (line.Words is [] or ["help"] or ["--help"] or ["-h"])
    {
        Console.WriteLine(Commands.Usage);
        return line.Words.Count == 0 ? 2 : 0;
    }

    if (line.Words is ["enroll", var enrollUrl, var enrollCode])
    {
        // Talks to the meeting server, not to roomd: no bus needed.
        return await Enroll.RunAsync(enrollUrl, enrollCode, Console.Out, Console.Error);
    }

    using var cts = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cts.Cancel();
    };
    using var client = await RoomBusClient.ConnectAsync(line.BusAddress ?? RoomBusClient.DefaultAddress, cts.Token);
    return await new Commands(client, Console.Out, line.Json) { PinFromStdin = line.PinFromStdin }.RunAsync(line.Words, cts.Token);
}
catch (UsageException ex)
{
    await Console.Error.WriteLineAsync($"roomctl: {ex.Message}\n\n{Commands.Usage}");
    return 2;
}
catch (RoomBusException ex) when (ex.ErrorName == "org.freedesktop.DBus.Error.ServiceUnknown" || ex.ErrorName == "org.freedesktop.DBus.Error.NameHasNoOwner")
{
    await Console.Error.WriteLineAsync("roomctl: roomd is not running on this bus.");
    return 3;
}
catch (RoomBusException ex)
{
    await Console.Error.WriteLineAsync($"roomctl: {ex.ErrorName}: {ex.Message}");
    return 1;
}
catch (DBusConnectFailedException ex)
{
    await Console.Error.WriteLineAsync($"roomctl: cannot reach the bus: {ex.Message}");
    return 3;
}
catch (DBusConnectionException ex)
{
    await Console.Error.WriteLineAsync($"roomctl: lost the bus: {ex.Message}");
    return 3;
}
