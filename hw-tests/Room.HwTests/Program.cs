using Room.HwTests.Checks;
using Room.HwTests.Gadget;
using Room.HwTests.Lab;

// Room's device suite. In the QEMU lab: `Room.HwTests gadget &` (the USB PTZ camera), then `Room.HwTests run --lab`.
// On a room box: `Room.HwTests run`. Faults for `make hw-test-fault`: HWTEST_FAULT=name[,name...] (Lab/LabFault.cs).
var args2 = args.ToList();
var gadgetDir = args2.IndexOf("--gadgetfs") is var gi and >= 0 && gi + 1 < args2.Count ? args2[gi + 1] : "/dev/gadget";
if (args2.Count > 0 && args2[0] == "gadget")
{
    // The lab camera runs as its own process, so the suite's garbage collections never pause its replies.
    UvcGadget.Trace = Environment.GetEnvironmentVariable("HWTEST_TRACE") == "1";
    using var camera = new UvcGadget(gadgetDir, m => Console.Error.WriteLine("[gadget] " + m));
    camera.Start();
    Thread.Sleep(Timeout.Infinite);
    return 0;
}

switch (args2.FirstOrDefault())
{
    case "fault-exec":
        return FaultExec.Run(args2[1..], Console.Error);
    case "list":
        // The checks a run must report (the host judges against this list).
        foreach (var name in CheckCatalog.Expected(args2.Contains("--lab")))
        {
            Console.WriteLine(name);
        }

        return 0;
    case "faults":
        // HWTEST_FAULT in its canonical form (names, or "all"), for the guest's kernel command line; 2 on an unknown name.
        try
        {
            Console.WriteLine(string.Join(",", LabFault.Parse(args2.ElementAtOrDefault(1)).Select(f => f.Name)));
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine("hw-test: HWTEST_FAULT: " + e.Message);
            return 2;
        }

    case "judge":
        return JudgeCommand.Run(args2[1..], Console.Out, Console.Error);
    case "run":
        break;
    default:
        Console.Error.WriteLine("usage: Room.HwTests run [--lab] | gadget [--gadgetfs DIR] | list [--lab] | faults SPEC | judge --log FILE [--lab] ... | fault-exec --ioctl R/M:E -- PROGRAM ARGS");
        return 2;
}

var inLab = args2.Contains("--lab");
IReadOnlyList<LabFault> faults;
try
{
    faults = LabFault.Parse(Environment.GetEnvironmentVariable("HWTEST_FAULT"));
}
catch (ArgumentException e)
{
    Console.Error.WriteLine("hw-test: HWTEST_FAULT: " + e.Message);
    return 2;
}

UvcGadget.Trace = Environment.GetEnvironmentVariable("HWTEST_TRACE") == "1";
foreach (var f in faults)
{
    Console.WriteLine($"hw-test: FAULT INJECTED: {f.Name}: {f.Breaks}");
}

var suite = new Suite(Console.Out) { Lab = inLab };
CecTv? tv = null;
try
{
    if (inLab)
    {
        await suite.RunAsync("lab.gadget-camera.connect", TimeSpan.FromSeconds(60), async ct =>
        {
            var retries = 0;
            while (true)
            {
                try
                {
                    var node = await Expect.Eventually(() => Task.FromResult(LabChecks.GadgetNode()), n => n is not null, TimeSpan.FromSeconds(10), "uvcvideo node for the gadget", ct).ConfigureAwait(false);
                    return $"uvcvideo bound the gadget camera as {node}" + (retries > 0 ? $" after {retries} re-enumeration(s)" : "");
                }
                catch (TimeoutException) when (retries < 2)
                {
                    // The host can enumerate before the gadget reads its first request (gadgetfs then stalls the
                    // class requests and uvcvideo gives up): have the host enumerate it again, as a replug would.
                    retries++;
                    UvcGadget.Reenumerate(m => Console.Error.WriteLine("[gadget] " + m));
                }
            }
        }).ConfigureAwait(false);
    }

    await LabChecks.RunAsync(suite, inLab).ConfigureAwait(false);
    if (inLab)
    {
        await suite.RunAsync("lab.cec.tv-follower", TimeSpan.FromSeconds(30), _ =>
        {
            tv = CecTv.Start(TimeSpan.FromSeconds(3)) ?? throw new InvalidOperationException("no sink-side CEC adapter (physical address 0.0.0.0)");
            return Task.FromResult($"emulated TV on {tv.Log}, 3 s power transitions");
        }).ConfigureAwait(false);
    }

    using var devices = new DeviceChecks(suite, inLab, faults);
    await devices.RunAsync().ConfigureAwait(false);

    // The composed call stays on screen until the suite ends, for the host's screendump.
    using var scanout = new ScanoutChecks(suite, inLab, faults);
    await scanout.RunAsync().ConfigureAwait(false);
    using var roomd = new RoomdChecks(suite, inLab, faults, scanout);
    await roomd.RunAsync().ConfigureAwait(false);
}
finally
{
    suite.End();
    tv?.Dispose();
}

// In the lab every device is provided: a skipped check fails the run as a failed one does.
return suite.Failed == 0 && (!inLab || suite.Skipped == 0) ? 0 : 1;
