using System.Collections.Concurrent;
using System.Diagnostics;
using Room.Bus;
using Room.Bus.Client;
using Room.HwTests.Lab;

namespace Room.HwTests.Checks;

/// <summary>
/// roomd's GPIO controls on the lab's gpio-sim chip, through System.Device.Gpio's libgpiod driver and Debian's
/// libgpiod: the mute button (the sim's <c>pull</c> attribute presses it) mutes the call over D-Bus, the LEDs follow
/// the meeting and mute state (read back from the sim's <c>value</c> attributes), the PIR line wakes the display
/// (the emulated CEC TV), and the chip removed and re-added is reported on Devices without stopping roomd.
/// roomd is the one <see cref="RoomdChecks"/> started, with the lab's wiring (<see cref="GpioSim.RoomdArguments"/>).
/// </summary>
public sealed class GpioChecks(Suite suite, bool inLab, string? address, Func<Process?> roomd, Func<string> roomdLog, CecTv? tv)
{
    private static readonly string Id = "gpio:" + GpioSim.Label;

    public async Task RunAsync()
    {
        await suite.RunAsync("roomd.gpio.chip", TimeSpan.FromSeconds(60), ChipAsync).ConfigureAwait(false);
        await suite.RunAsync("roomd.gpio.mute-button", TimeSpan.FromSeconds(60), MuteButtonAsync).ConfigureAwait(false);
        await suite.RunAsync("roomd.gpio.leds", TimeSpan.FromSeconds(90), LedsAsync).ConfigureAwait(false);
        await suite.RunAsync("roomd.gpio.occupancy-wake", TimeSpan.FromSeconds(60), OccupancyAsync).ConfigureAwait(false);
        await suite.RunAsync("roomd.gpio.chip-removed", TimeSpan.FromSeconds(90), ChipRemovedAsync).ConfigureAwait(false);
    }

    /// <summary>roomd lists the chip's controls as ok, and the kernel says roomd holds the four lines as wired.</summary>
    private async Task<string> ChipAsync(CancellationToken ct)
    {
        var (sim, client) = await PrepareAsync(ct).ConfigureAwait(false);
        using (client)
        {
            var entry = await Expect.Eventually(() => EntryAsync(client), e => e?.Health == "ok", TimeSpan.FromSeconds(30), $"{Id} ok in roomd's Devices", ct).ConfigureAwait(false);
            var lines = new List<string>();
            foreach (var (line, output) in new[] { (GpioSim.Button, false), (GpioSim.Pir, false), (GpioSim.MutedLed, true), (GpioSim.InCallLed, true) })
            {
                var (used, isOut, consumer) = sim.LineInfo(line);
                Expect.True(used && isOut == output, $"line {line} of {sim.ChipName}: used {used}, output {isOut} (consumer '{consumer}'), expected requested as an {(output ? "output" : "input")} by roomd");
                lines.Add($"{line} {(isOut ? "out" : "in")} '{consumer}'");
            }

            return $"roomd runs its controls on gpio-sim {sim.ChipName} '{GpioSim.Label}' (found by label): Devices {entry!.Id} {entry.Health}, lines {entry.Capabilities.GetValueOrDefault("lines")}; "
                + $"the kernel's line info: {string.Join(", ", lines)}";
        }
    }

    /// <summary>Two presses through the sim's pull attribute: each one toggles Meeting.MicrophoneMuted once (a release does nothing).</summary>
    private async Task<string> MuteButtonAsync(CancellationToken ct)
    {
        var (sim, client) = await PrepareAsync(ct).ConfigureAwait(false);
        using (client)
        {
            var announced = new ConcurrentQueue<bool>();
            using var watch = await client.WatchAsync((iface, changed) =>
            {
                if (iface == BusNames.Meeting && changed.TryGetValue("MicrophoneMuted", out var m))
                {
                    announced.Enqueue(m.GetBool());
                }
            }).ConfigureAwait(false);
            var start = (await client.GetStatusAsync().ConfigureAwait(false)).Meeting.MicrophoneMuted;
            var seen = new List<string>();
            foreach (var want in new[] { !start, start })
            {
                sim.Pull(GpioSim.Button, up: false); // pressed: the button shorts the line to ground
                try
                {
                    Expect.True(sim.Value(GpioSim.Button) == 0, "the pressed button's line does not read low in the sim");
                    await Expect.Eventually(async () => (await client.GetStatusAsync().ConfigureAwait(false)).Meeting.MicrophoneMuted, m => m == want,
                        TimeSpan.FromSeconds(20), $"Meeting.MicrophoneMuted after pressing the button (want {want})", ct).ConfigureAwait(false);
                }
                finally
                {
                    sim.Pull(GpioSim.Button, up: true); // released
                }

                await Expect.Eventually(() => Task.FromResult(announced.Contains(want)), x => x, TimeSpan.FromSeconds(10), $"PropertiesChanged MicrophoneMuted {want}", ct).ConfigureAwait(false);
                seen.Add(want ? "muted" : "unmuted");
            }

            // The second press restored the first state: had a release toggled too, it would differ.
            var end = (await client.GetStatusAsync().ConfigureAwait(false)).Meeting.MicrophoneMuted;
            Expect.True(end == start, $"after two presses and releases MicrophoneMuted is {end}, expected {start} (a release counted as a press?)");
            return $"two presses on the sim's line {GpioSim.Button} (pull-down, then pull-up): roomd {string.Join(", then ", seen)} the microphone, "
                + $"PropertiesChanged MicrophoneMuted {string.Join(" -> ", announced)}";
        }
    }

    /// <summary>Join the loopback call, mute, unmute, leave: the LED lines follow, read back from the sim.</summary>
    private async Task<string> LedsAsync(CancellationToken ct)
    {
        var (sim, client) = await PrepareAsync(ct).ConfigureAwait(false);
        using (client)
        {
            var steps = new List<string>();
            async Task ExpectLeds(string after, int muted, int inCall)
            {
                var got = await Expect.Eventually(() => Task.FromResult((sim.Value(GpioSim.MutedLed), sim.Value(GpioSim.InCallLed))), v => v == (muted, inCall),
                    TimeSpan.FromSeconds(30), $"LED lines (muted, in-call) after {after}, want ({muted}, {inCall})", ct).ConfigureAwait(false);
                // What roomd tells the panel (Devices, refreshed every few seconds) must agree with the lines.
                var want = (muted == 1 ? "on" : "off", inCall == 1 ? "on" : "off");
                await Expect.Eventually(async () => await EntryAsync(client).ConfigureAwait(false) is { } e ? (e.Capabilities.GetValueOrDefault("led-muted"), e.Capabilities.GetValueOrDefault("led-in-call")) : default,
                    v => v == want, TimeSpan.FromSeconds(20), $"{Id} led-muted/led-in-call after {after}, want {want}", ct).ConfigureAwait(false);
                steps.Add($"{after}: muted LED {got.Item1}, in-call LED {got.Item2} (Devices {want.Item1}/{want.Item2})");
            }

            await client.SetMicrophoneMutedAsync(false).ConfigureAwait(false);
            await ExpectLeds("idle, unmuted", 0, 0).ConfigureAwait(false);
            await client.JoinAsync("test-loopback://hwtest.lab/gpio").ConfigureAwait(false);
            try
            {
                await Expect.Eventually(async () => (await client.GetStatusAsync().ConfigureAwait(false)).Meeting.State, s => s is MeetingStates.InCall or MeetingStates.Error,
                    TimeSpan.FromSeconds(45), "meeting state after Join", ct).ConfigureAwait(false);
                var state = (await client.GetStatusAsync().ConfigureAwait(false)).Meeting;
                Expect.True(state.State == MeetingStates.InCall, $"the loopback call did not start: {state.State} {state.LastError}" + roomdLog());
                await ExpectLeds("in call", 0, 1).ConfigureAwait(false);
                await client.SetMicrophoneMutedAsync(true).ConfigureAwait(false);
                await ExpectLeds("in call, muted", 1, 1).ConfigureAwait(false);
                await client.SetMicrophoneMutedAsync(false).ConfigureAwait(false);
                await ExpectLeds("in call, unmuted", 0, 1).ConfigureAwait(false);
            }
            finally
            {
                if ((await client.GetStatusAsync().ConfigureAwait(false)).Meeting.State != MeetingStates.Idle)
                {
                    await client.LeaveAsync().ConfigureAwait(false);
                }
            }

            await ExpectLeds("left the call", 0, 0).ConfigureAwait(false);
            return string.Join("; ", steps);
        }
    }

    /// <summary>The TV in standby and nobody in a call: motion on the PIR line wakes it, and Devices says the room is occupied.</summary>
    private async Task<string> OccupancyAsync(CancellationToken ct)
    {
        var (sim, client) = await PrepareAsync(ct).ConfigureAwait(false);
        using (client)
        {
            var state = (await client.GetStatusAsync().ConfigureAwait(false)).Meeting.State;
            Expect.True(state == MeetingStates.Idle, $"meeting is {state}: a call would wake the display by itself");
            var before = await EntryAsync(client).ConfigureAwait(false);
            Expect.True(before?.Capabilities.GetValueOrDefault("occupied") == "no", $"{Id} says occupied={before?.Capabilities.GetValueOrDefault("occupied")} before any motion (PIR line {GpioSim.Pir} is {sim.Value(GpioSim.Pir)})");
            if (tv is null)
            {
                return inLab ? throw new InvalidOperationException("no emulated TV (see lab.cec.tv-follower)") : throw new SkipException("no emulated CEC TV on this box");
            }

            tv.SwitchOffByRemote();
            Expect.True(tv.Power == "standby", $"the emulated TV is {tv.Power} after switching it off");
            var sw = Stopwatch.StartNew();
            sim.Pull(GpioSim.Pir, up: true); // motion
            try
            {
                var powers = new List<string>();
                await Expect.Eventually(() => Task.FromResult(tv.Power), p =>
                {
                    if (powers.Count == 0 || powers[^1] != p)
                    {
                        powers.Add(p);
                    }

                    return p == "on";
                }, TimeSpan.FromSeconds(30), "the TV after motion on the PIR line", ct).ConfigureAwait(false);
                var woke = sw.Elapsed;
                await Expect.Eventually(async () => (await EntryAsync(client).ConfigureAwait(false))?.Capabilities.GetValueOrDefault("occupied"), o => o == "yes",
                    TimeSpan.FromSeconds(20), $"{Id} occupied", ct).ConfigureAwait(false);
                sim.Pull(GpioSim.Pir, up: false);
                await Expect.Eventually(async () => (await EntryAsync(client).ConfigureAwait(false))?.Capabilities.GetValueOrDefault("occupied"), o => o == "no",
                    TimeSpan.FromSeconds(20), $"{Id} empty again", ct).ConfigureAwait(false);
                return $"TV in standby, meeting idle; PIR line {GpioSim.Pir} high: the TV went {string.Join(" -> ", powers)} within {woke.TotalSeconds:0.0} s "
                    + "(roomd's CEC Image View On), Devices occupied yes, then no when the line fell";
            }
            finally
            {
                sim.Pull(GpioSim.Pir, up: false);
            }
        }
    }

    /// <summary>
    /// The chip goes away under roomd (configfs live=0): Devices reports it, roomd keeps serving D-Bus; the chip comes
    /// back: Devices says ok, the LEDs show the state set while it was away, and the button works again. Same roomd.
    /// </summary>
    private async Task<string> ChipRemovedAsync(CancellationToken ct)
    {
        var (sim, client) = await PrepareAsync(ct).ConfigureAwait(false);
        using (client)
        {
            var process = roomd()!;
            var pid = process.Id;
            var announced = new ConcurrentQueue<string>();
            using var watch = await client.WatchAsync((iface, changed) =>
            {
                if (iface == BusNames.Devices && RoomStatus.Empty.Apply(iface, changed).Devices.FirstOrDefault(d => d.Id == Id) is { } d)
                {
                    announced.Enqueue(d.Health);
                }
            }).ConfigureAwait(false);
            await client.SetMicrophoneMutedAsync(false).ConfigureAwait(false);
            var chip = sim.ChipName;
            sim.Live = false;
            try
            {
                var gone = await Expect.Eventually(() => EntryAsync(client), e => e is { Health: "missing" or "degraded" or "failed" }, TimeSpan.FromSeconds(30),
                    $"{Id} in Devices after the chip was removed", ct).ConfigureAwait(false);
                await Expect.Eventually(() => Task.FromResult(announced.Contains(gone!.Health)), x => x, TimeSpan.FromSeconds(15), $"PropertiesChanged with {Id} {gone!.Health}", ct).ConfigureAwait(false);
                Expect.True(!process.HasExited, "roomd exited when the GPIO chip went away" + roomdLog());

                // The rest of roomd works while the controls are away; the mute set now must show on the LED later.
                await client.SetMicrophoneMutedAsync(true).ConfigureAwait(false);
                var muted = (await client.GetStatusAsync().ConfigureAwait(false)).Meeting.MicrophoneMuted;
                Expect.True(muted, "Meeting.SetMicrophoneMuted(true) did not take while the GPIO chip was away");

                sim.Live = true;
                sim.Pull(GpioSim.Button, up: true); // the button's pull-up resistor, on the new chip
                var back = await Expect.Eventually(() => EntryAsync(client), e => e?.Health == "ok", TimeSpan.FromSeconds(30), $"{Id} ok after the chip came back", ct).ConfigureAwait(false);
                await Expect.Eventually(() => Task.FromResult(sim.Value(GpioSim.MutedLed)), v => v == 1, TimeSpan.FromSeconds(15), "the muted LED on the chip that came back", ct).ConfigureAwait(false);

                sim.Pull(GpioSim.Button, up: false);
                try
                {
                    await Expect.Eventually(async () => (await client.GetStatusAsync().ConfigureAwait(false)).Meeting.MicrophoneMuted, m => !m,
                        TimeSpan.FromSeconds(20), "Meeting.MicrophoneMuted after a press on the chip that came back", ct).ConfigureAwait(false);
                }
                finally
                {
                    sim.Pull(GpioSim.Button, up: true);
                }

                await Expect.Eventually(() => Task.FromResult(sim.Value(GpioSim.MutedLed)), v => v == 0, TimeSpan.FromSeconds(15), "the muted LED after unmuting by the button", ct).ConfigureAwait(false);
                Expect.True(!process.HasExited && process.Id == pid, "roomd was restarted" + roomdLog());
                return $"{chip} removed (configfs live=0): roomd (pid {pid}, still serving D-Bus) reported {Id} {gone!.Health} ('{gone.HealthDetail}'), PropertiesChanged {string.Join(" -> ", announced.Distinct())}; "
                    + $"back as {sim.ChipName}: ok, reconnects {back!.Capabilities.GetValueOrDefault("reconnects")}, the muted LED lit for the mute set while away, and a button press unmuted";
            }
            finally
            {
                if (!sim.Live)
                {
                    sim.Live = true;
                }
            }
        }
    }

    private async Task<(GpioSim Sim, RoomBusClient Client)> PrepareAsync(CancellationToken ct)
    {
        if (address is null || roomd() is not { HasExited: false })
        {
            throw new SkipException("roomd is not running (see roomd.dbus)");
        }

        var sim = GpioSim.Find()
            ?? (inLab ? throw new InvalidOperationException($"no gpio-sim chip ({GpioSim.ConfigDir}): the guest's /init did not make it (gpio-sim.ko built by lab/gpio-sim.sh)")
                : throw new SkipException("no gpio-sim chip on this box (the GPIO checks drive the lab's simulated lines)"));
        return (sim, await RoomBusClient.ConnectAsync(address, ct).ConfigureAwait(false));
    }

    private static async Task<DeviceEntry?> EntryAsync(RoomBusClient client) =>
        (await client.GetStatusAsync().ConfigureAwait(false)).Devices.FirstOrDefault(d => d.Id == Id);
}
