using Room.HwTests.Checks;
using Room.HwTests.Gadget;
using Room.HwTests.Lab;

// Room's device suite. In the QEMU lab: `Room.HwTests gadget &` (the USB PTZ camera), then `Room.HwTests run --lab`.
// On a room box: `Room.HwTests run`. Fault injection for the lab's own tests: HWTEST_FAULT=v4l2-ioctl|cec-opcode|ptz-offset.
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

if (args2.Count == 0 || args2[0] != "run")
{
    Console.Error.WriteLine("usage: Room.HwTests run [--lab] | Room.HwTests gadget [--gadgetfs DIR]");
    return 2;
}

var inLab = args2.Contains("--lab");
var fault = Environment.GetEnvironmentVariable("HWTEST_FAULT");
V4l2Probe.WrongIoctlNumber = fault == "v4l2-ioctl";
UvcGadget.Trace = Environment.GetEnvironmentVariable("HWTEST_TRACE") == "1";
if (!string.IsNullOrEmpty(fault))
{
    Console.WriteLine($"hw-test: FAULT INJECTED: {fault}");
}

var suite = new Suite(Console.Out);
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

    using var devices = new DeviceChecks(suite, inLab, fault);
    await devices.RunAsync().ConfigureAwait(false);
    using var roomd = new RoomdChecks(suite, inLab);
    await roomd.RunAsync().ConfigureAwait(false);
}
finally
{
    suite.End();
    tv?.Dispose();
}

return suite.Failed == 0 ? 0 : 1;
