using Room.Cli;

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
return await Roomctl.RunAsync(args, Console.In, Console.Out, Console.Error, cts.Token);
