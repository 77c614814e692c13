using Room.Devices.Audio;

namespace Room.Devices.Tests;

public class ProcAsoundTests
{
    private const string Cards = """
         0 [PCH            ]: HDA-Intel - HDA Intel PCH
                              HDA Intel PCH at 0xf7f10000 irq 32
         1 [Loopback       ]: Loopback - Loopback
                              Loopback 1
         2 [Array          ]: USB-Audio - ReSpeaker 4 Mic Array (UAC1.0)
                              SEEED ReSpeaker 4 Mic Array (UAC1.0) at usb-0000:00:14.0-2, full speed
        """;

    private const string Pcm = """
        00-00: ALC892 Analog : ALC892 Analog : playback 1 : capture 1
        00-03: HDMI 0 : HDMI 0 : playback 1
        01-00: Loopback PCM : Loopback PCM : playback 8 : capture 8
        01-01: Loopback PCM : Loopback PCM : playback 8 : capture 8
        02-00: USB Audio : USB Audio : playback 1 : capture 1
        """;

    private const string Stream = """
        SEEED ReSpeaker 4 Mic Array (UAC1.0) at usb-0000:00:14.0-2, full speed : USB Audio

        Playback:
          Status: Stop
          Interface 2
            Altset 1
            Format: S16_LE
            Channels: 2
            Endpoint: 0x03 (3 OUT) (ADAPTIVE)
            Rates: 16000

        Capture:
          Status: Stop
          Interface 1
            Altset 1
            Format: S16_LE
            Channels: 6
            Endpoint: 0x82 (2 IN) (SYNC)
            Rates: 16000, 48000
          Interface 1
            Altset 2
            Format: S16_LE
            Channels: 1
            Rates: 8000 - 48000 (continuous)
        """;

    [Fact]
    public void Cards_parse_with_id_driver_and_long_name()
    {
        var cards = ProcAsound.ParseCards(Cards);
        Assert.Equal(3, cards.Count);
        Assert.Equal(new AlsaCard(1, "Loopback", "Loopback", "Loopback", "Loopback 1"), cards[1]);
        Assert.Equal("USB-Audio", cards[2].Driver);
        Assert.StartsWith("SEEED", cards[2].LongName);
    }

    [Fact]
    public void Pcm_devices_parse_with_direction_counts()
    {
        var pcms = ProcAsound.ParsePcm(Pcm);
        Assert.Equal(5, pcms.Count);
        Assert.Equal(new AlsaPcmDevice(0, 3, "HDMI 0", "HDMI 0", 1, 0), pcms[1]);
        Assert.Equal(8, pcms[3].CaptureSubdevices);
    }

    [Fact]
    public void Usb_stream_gives_max_channels_and_rates()
    {
        var s = ProcAsound.ParseStream(Stream);
        Assert.Equal(2, s.PlaybackChannels);
        Assert.Equal(6, s.CaptureChannels);
        Assert.Equal([8000, 16000, 48000], s.CaptureRates);
        Assert.Equal([16000], s.PlaybackRates);
    }

    [Fact]
    public void Scan_reads_a_recorded_proc_tree()
    {
        using var t = new TempTree();
        t.Write("asound/cards", Cards);
        t.Write("asound/pcm", Pcm);
        t.Write("asound/card2/stream0", Stream);
        t.Write("asound/card2/usbid", "2886:0018\n");
        var inv = ProcAsound.Scan(t.Root);
        Assert.Equal(3, inv.Count);
        Assert.Equal(2, inv[1].Devices.Count);
        Assert.Null(inv[1].Stream);
        Assert.Equal(6, inv[2].Stream!.CaptureChannels);
        Assert.Equal("2886:0018", inv[2].UsbId);
    }

    [Fact]
    public void Missing_proc_asound_gives_no_cards() => Assert.Empty(ProcAsound.Scan("/nonexistent"));

    [Theory]
    [InlineData("--- no soundcards ---")]
    [InlineData(" x [Foo ]: a - b")]
    [InlineData(" 1 Foo ]: a - b")]
    [InlineData(" 1 [Foo : a - b")]
    [InlineData(" 1 [   ]: a - b")]
    [InlineData(" 1 [Foo]  a - b")]
    [InlineData("999 [Foo]: a - b")]
    [InlineData("")]
    public void Malformed_card_lines_are_skipped(string text) => Assert.Empty(ProcAsound.ParseCards(text));

    [Theory]
    [InlineData("0-00: a : b : playback 1")]
    [InlineData("00-0x: a : b : playback 1")]
    [InlineData("00-00 a : b")]
    [InlineData("00-00: only-one-field")]
    [InlineData("garbage")]
    public void Malformed_pcm_lines_are_skipped(string text) => Assert.Empty(ProcAsound.ParsePcm(text));

    [Fact]
    public void Malformed_stream_values_are_ignored()
    {
        var s = ProcAsound.ParseStream("Capture:\n  Channels: lots\n  Channels: 9999\n  Rates: fast, 12, 48000x\n");
        Assert.Null(s.CaptureChannels);
        Assert.Empty(s.CaptureRates);
        Assert.Null(ProcAsound.ParseStream("Channels: 4\n").CaptureChannels);
    }
}

public class AlsaPcmTests
{
    private static readonly bool s_haveAlsa = Room.Devices.Audio.AlsaPcmProbe.LibraryPresent;

    private static string FileConfig(string name, string output, string? input = null) =>
        $"pcm.{name} {{ type file slave.pcm {{ type null }} file \"{output}\" {(input is null ? "" : $"infile \"{input}\"")} format \"raw\" }}";

    [Fact]
    public async Task Playback_writes_s16_frames_bit_exact()
    {
        Assert.True(s_haveAlsa, "libasound2 is in APT_PACKAGES and must be installed");
        using var t = new TempTree();
        var output = Path.Combine(t.Root, "out.raw");
        var speaker = new AlsaSpeaker("alsa:test:0", "test", new AlsaPcmSettings
        {
            Device = "roomout", Channels = 2, SampleRate = 48000, Format = AlsaSampleFormat.S16,
            ConfigText = FileConfig("roomout", output),
        }, "hw:99");
        var samples = Enumerable.Range(0, 480 * 2).Select(i => (short)(i * 31)).ToArray();
        await using (var play = await speaker.OpenPlaybackAsync())
        {
            Assert.Equal(2, play.Channels);
            await play.WriteAsync(samples);
        }

        var bytes = File.ReadAllBytes(output);
        Assert.True(bytes.Length >= samples.Length * 2);
        var written = new short[samples.Length];
        Buffer.BlockCopy(bytes, 0, written, 0, samples.Length * 2);
        Assert.Equal(samples, written);
        Assert.Equal(DeviceHealth.Ok, speaker.Describe().Health);
    }

    [Fact]
    public void Playback_in_s32_shifts_samples_to_the_high_half()
    {
        Assert.True(s_haveAlsa);
        using var t = new TempTree();
        var output = Path.Combine(t.Root, "out32.raw");
        using (var pcm = AlsaPcm.Open("alsa:test", new AlsaPcmSettings
        {
            Device = "roomout", Channels = 1, Format = AlsaSampleFormat.S32, ConfigText = FileConfig("roomout", output),
        }, capture: false))
        {
            Assert.Equal(AlsaSampleFormat.S32, pcm.Format);
            Assert.Equal(480, pcm.PeriodFrames); // 10 ms at 48 kHz
            pcm.Write([1, -1, 1000]);
            pcm.Drain();
        }

        var bytes = File.ReadAllBytes(output);
        Assert.Equal(1 << 16, BitConverter.ToInt32(bytes, 0));
        Assert.Equal(-1 << 16, BitConverter.ToInt32(bytes, 4));
        Assert.Equal(1000 << 16, BitConverter.ToInt32(bytes, 8));
    }

    [Fact]
    public async Task Capture_reads_whole_multichannel_frames_from_the_device()
    {
        Assert.True(s_haveAlsa);
        using var t = new TempTree();
        var input = Path.Combine(t.Root, "in.raw");
        var source = Enumerable.Range(0, 4800 * 8).Select(i => (short)(i % 8 * 1000 + (i / 8 % 100))).ToArray();
        var raw = new byte[source.Length * 2];
        Buffer.BlockCopy(source, 0, raw, 0, raw.Length);
        File.WriteAllBytes(input, raw);
        var mic = new AlsaMicrophone("alsa:test:1", "array", new AlsaPcmSettings
        {
            Device = "roomin", Channels = 8, Format = AlsaSampleFormat.S16,
            ConfigText = FileConfig("roomin", "/dev/null", input),
        }, "hw:99");
        await using var cap = await mic.OpenCaptureAsync();
        var buf = new short[480 * 8];
        var n = await cap.ReadAsync(buf);
        Assert.Equal(480, n);
        Assert.Equal(source.AsSpan(0, buf.Length).ToArray(), buf);
    }

    [Fact]
    public void Capture_is_running_after_a_read_shorter_than_the_start_threshold()
    {
        Assert.True(s_haveAlsa);
        using var t = new TempTree();
        var input = t.WriteBytes("in.raw", new byte[48000 * 4]);
        using var pcm = AlsaPcm.Open("alsa:test", new AlsaPcmSettings
        {
            Device = "roomin", Channels = 2, Format = AlsaSampleFormat.S16,
            ConfigText = $"pcm.roomin {{ type file slave.pcm {{ type null }} file \"/dev/null\" infile \"{input}\" format \"raw\" }}",
        }, capture: true);
        Assert.Equal(2, pcm.State); // prepared, not started by open
        var buf = new short[pcm.PeriodFrames * 2];
        Assert.Equal(pcm.PeriodFrames, pcm.Read(buf));
        Assert.Equal(3, pcm.State); // running
        // Real cards (snd-aloop) never reach set_params' start threshold (a whole buffer) with period-sized reads:
        // the driver must start the capture itself.
        Assert.Equal(1, pcm.ExplicitStarts);
    }

    private static AlsaPcm OpenFileCapture(TempTree t)
    {
        var input = t.WriteBytes("in.raw", new byte[48000 * 4]);
        return AlsaPcm.Open("alsa:test", new AlsaPcmSettings
        {
            Device = "roomin", Channels = 2, Format = AlsaSampleFormat.S16,
            ConfigText = $"pcm.roomin {{ type file slave.pcm {{ type null }} file \"/dev/null\" infile \"{input}\" format \"raw\" }}",
        }, capture: true);
    }

    [Theory]
    [InlineData(-Room.Devices.Interop.Libc.EPIPE)]
    [InlineData(-Room.Devices.Interop.Libc.ESTRPIPE)]
    public void An_xrun_is_counted_recovered_and_the_stream_goes_on(int err)
    {
        Assert.True(s_haveAlsa);
        using var t = new TempTree();
        using var pcm = OpenFileCapture(t);
        var buf = new short[pcm.PeriodFrames * 2];
        Assert.Equal(pcm.PeriodFrames, pcm.Read(buf));

        pcm.Recover(err); // what snd_pcm_readi returns after an overrun (or a suspend)

        Assert.Equal(1, pcm.Xruns);
        Assert.Equal(pcm.PeriodFrames, pcm.Read(buf));
    }

    [Fact]
    public void Playback_underruns_raise_the_queued_headroom_up_to_the_ring_and_capture_overruns_do_not()
    {
        Assert.True(s_haveAlsa);
        using var t = new TempTree();
        using var playback = AlsaPcm.Open("alsa:test", new AlsaPcmSettings
        {
            Device = "roomout", Channels = 1, Format = AlsaSampleFormat.S16, ConfigText = FileConfig("roomout", Path.Combine(t.Root, "out.raw")),
        }, capture: false);
        Assert.Equal(4 * playback.PeriodFrames, playback.HeadroomFrames); // 40 ms while the box keeps up
        Assert.Equal(32 * playback.PeriodFrames, playback.BufferFrames); // the ring is only the ceiling

        playback.Recover(-Room.Devices.Interop.Libc.EPIPE); // what snd_pcm_writei returns after an underrun
        Assert.Equal(6 * playback.PeriodFrames, playback.HeadroomFrames);
        for (var i = 0; i < 40; i++)
        {
            playback.Recover(-Room.Devices.Interop.Libc.EPIPE);
        }

        Assert.Equal(playback.BufferFrames, playback.HeadroomFrames);
        Assert.Equal(41, playback.Xruns);

        using var capture = OpenFileCapture(t);
        var before = capture.HeadroomFrames;
        capture.Recover(-Room.Devices.Interop.Libc.EPIPE);
        Assert.Equal(before, capture.HeadroomFrames);
    }

    [Fact]
    public void A_timed_out_wait_on_a_stream_that_is_still_there_is_a_stall_and_the_stream_goes_on()
    {
        Assert.True(s_haveAlsa);
        using var t = new TempTree();
        using var pcm = OpenFileCapture(t);
        var buf = new short[pcm.PeriodFrames * 2];
        Assert.Equal(pcm.PeriodFrames, pcm.Read(buf));

        pcm.Recover(-Room.Devices.Interop.Libc.EIO); // what snd_pcm_readi returns when no period came within the kernel's wait

        Assert.Equal((1, 0), (pcm.Stalls, pcm.Xruns));
        Assert.Equal(pcm.PeriodFrames, pcm.Read(buf));
    }

    [Fact]
    public void A_stream_that_stalls_wait_after_wait_is_a_device_error()
    {
        Assert.True(s_haveAlsa);
        using var t = new TempTree();
        using var pcm = OpenFileCapture(t);
        for (var i = 0; i < AlsaPcm.MaxStallsInARow; i++)
        {
            pcm.Recover(-Room.Devices.Interop.Libc.EIO);
        }

        var ex = Assert.Throws<DeviceUnavailableException>(() => pcm.Recover(-Room.Devices.Interop.Libc.EIO));
        Assert.Contains("no progress", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Progress_between_stalls_starts_the_count_again()
    {
        Assert.True(s_haveAlsa);
        using var t = new TempTree();
        using var pcm = OpenFileCapture(t);
        var buf = new short[pcm.PeriodFrames * 2];
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < AlsaPcm.MaxStallsInARow; i++)
            {
                pcm.Recover(-Room.Devices.Interop.Libc.EIO);
            }

            Assert.Equal(pcm.PeriodFrames, pcm.Read(buf));
        }

        Assert.Equal(3 * AlsaPcm.MaxStallsInARow, pcm.Stalls);
    }

    [Theory]
    [InlineData(-Room.Devices.Interop.Libc.ENODEV)]
    [InlineData(-Room.Devices.Interop.Libc.EBADFD)]
    public void A_vanished_card_is_device_unavailable_not_an_xrun(int err)
    {
        Assert.True(s_haveAlsa);
        using var t = new TempTree();
        using var pcm = OpenFileCapture(t);
        Assert.Throws<DeviceUnavailableException>(() => pcm.Recover(err));
        Assert.Equal(0, pcm.Xruns);
    }

    [Fact]
    public void An_error_snd_pcm_recover_cannot_handle_is_a_device_error()
    {
        Assert.True(s_haveAlsa);
        using var t = new TempTree();
        using var pcm = OpenFileCapture(t);
        var ex = Assert.Throws<DeviceUnavailableException>(() => pcm.Recover(-22)); // EINVAL
        Assert.Contains("cannot recover", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, pcm.Xruns);
    }

    [Fact]
    public void Unknown_device_fails_that_device_only()
    {
        Assert.True(s_haveAlsa);
        var mic = new AlsaMicrophone("alsa:nope:0", "nope", new AlsaPcmSettings { Device = "hw:CARD=NoSuchCard,DEV=0" }, "hw:CARD=NoSuchCard");
        Assert.Throws<DeviceUnavailableException>(() => mic.OpenCaptureAsync().AsTask().GetAwaiter().GetResult());
        Assert.Equal(DeviceHealth.Failed, mic.Describe().Health);
    }

    [Fact]
    public void Bad_configuration_text_is_a_device_error()
    {
        Assert.True(s_haveAlsa);
        Assert.Throws<DeviceUnavailableException>(() =>
            AlsaPcm.Open("alsa:x", new AlsaPcmSettings { Device = "x", ConfigText = "pcm.x { type " }, capture: true));
    }

    [Fact]
    public void Unplugged_microphone_refuses_to_open()
    {
        var mic = new AlsaMicrophone("alsa:gone:0", "gone", new AlsaPcmSettings { Device = "null" }, "hw:0");
        mic.SetHealth(DeviceHealth.Missing, "unplugged");
        Assert.Throws<DeviceUnavailableException>(() => mic.OpenCaptureAsync().AsTask().GetAwaiter().GetResult());
    }

    [Fact]
    public void Channel_probe_reads_the_plugin_maximum_and_is_null_for_missing_cards()
    {
        Assert.True(s_haveAlsa);
        Assert.Null(AlsaPcm.ProbeMaxChannels("hw:CARD=NoSuchCard,DEV=0", capture: true));
        Assert.True(AlsaPcm.ProbeMaxChannels("null", capture: true) is null or > 0);
    }

    [Fact]
    public void Mixer_on_a_missing_card_is_absent_not_an_error() =>
        Assert.Null(AlsaMixer.TryOpen("hw:CARD=NoSuchCard", capture: false, "Master"));

    [Theory]
    [InlineData(-19, true)]
    [InlineData(-77, true)]
    [InlineData(-32, false)]
    [InlineData(-86, false)]
    public void Disappearance_is_told_apart_from_xruns(int err, bool gone) => Assert.Equal(gone, AlsaPcm.IsDisappearance(err));

    [HardwareFact("/dev/snd/pcmC*")]
    public async Task Real_card_captures_a_period()
    {
        var card = ProcAsound.Scan("/proc").First(c => c.Devices.Any(d => d.CaptureSubdevices > 0));
        var dev = card.Devices.First(d => d.CaptureSubdevices > 0);
        var mic = new AlsaMicrophone("alsa:hw", "hw", new AlsaPcmSettings { Device = $"hw:CARD={card.Card.Id},DEV={dev.Device}" }, $"hw:CARD={card.Card.Id}");
        await using var cap = await mic.OpenCaptureAsync();
        var buf = new short[480 * cap.Channels];
        Assert.Equal(480, await cap.ReadAsync(buf));
    }
}
