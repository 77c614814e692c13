using Microsoft.Extensions.Logging.Abstractions;
using Room.Appliance.Meeting;
using Room.Call;
using Room.Call.E2ee;
using Room.Devices;
using Room.Media;
using Room.Media.Audio;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;
using Room.Rtc;
using Room.Rtc.Dtls;
using Room.Rtc.Janus;
using Room.Rtc.Sdp;

namespace Room.MeetingServer.Tests;

/// <summary>
/// What Janus itself sees: the meeting server has Janus record every meeting's VideoRoom; Debian's janus-pp-rec turns
/// the recordings into WebM (VP8) and Ogg (Opus), and FFmpeg decodes them. An MLS-keyed meeting (roomd's call code:
/// <see cref="JanusSession"/> with SFrame keys from the group) and a control meeting whose publisher sends the same
/// picture and tone without SFrame: no frame of the meeting decodes to what was sent, while the control does.
/// </summary>
public sealed class JanusRecordingTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const int Width = 640, Height = 360, Fps = 15;
    private JanusInstance _janus = null!;
    private MeetingServerProcess _server = null!;
    private MeetingServerClient _admin = null!;
    private readonly List<IDisposable> _owned = [];
    private readonly string _work = Repo.TempDir("room-ms-recordings");

    public async Task InitializeAsync()
    {
        string data = MeetingServerProcess.NewDataDirectory();
        _janus = await JanusInstance.StartAsync(data, record: true);
        _server = await MeetingServerProcess.StartAsync(janus: _janus, dataDirectory: data);
        await _server.AddUserAsync("admin", ServerFixture.AdminPassword, admin: true);
        _admin = await _server.SignInAsync("admin", ServerFixture.AdminPassword);
    }

    public async Task DisposeAsync()
    {
        _owned.ForEach(o => o.Dispose());
        _admin.Dispose();
        await _server.DisposeAsync();
        await _janus.DisposeAsync();
        Directory.Delete(_work, true);
    }

    private async Task<(DeviceCredentials Creds, MeetingServerClient Client)> Device(string name)
    {
        var creds = DeviceCredentials.CreateEphemeral();
        await MeetingServerClient.EnrolAsync(_server.Url, await _admin.CreateEnrolmentCodeAsync(name), creds);
        var client = new MeetingServerClient(_server.Url, creds.OrganisationCa!, creds.TlsCertificate());
        _owned.Add(creds);
        _owned.Add(client);
        return (creds, client);
    }

    /// <summary>
    /// The sent picture: every row the same luma ramp, shifted by 4 per frame; the sent sound: a 440 Hz tone. Paced in
    /// real time until four seconds' worth of frames were sent (a count, not a duration: a starved machine sent fewer
    /// frames in four seconds, and its recording came out smaller than the check wants).
    /// </summary>
    private static async Task SendAsync(CallPublisher publisher, CancellationToken ct)
    {
        const int seconds = 4;
        var i420 = new byte[Width * Height * 3 / 2];
        var pcm = new short[AudioFormat.FrameSamples];
        var start = DateTime.UtcNow;
        int video = 0, audio = 0;
        while (publisher.VideoFramesSent < seconds * Fps || publisher.AudioFramesSent < seconds * 1000 / AudioFormat.FrameMilliseconds)
        {
            ct.ThrowIfCancellationRequested();
            var now = DateTime.UtcNow - start;
            if (now >= TimeSpan.FromSeconds(video / (double)Fps))
            {
                for (int y = 0; y < Height; y++)
                {
                    for (int x = 0; x < Width; x++)
                    {
                        i420[(y * Width) + x] = (byte)((x + (video * 4)) & 0xFF);
                    }
                }

                i420.AsSpan(Width * Height).Fill(128);
                publisher.ProcessVideoFrame(i420, now);
                video++;
            }

            while (now >= TimeSpan.FromMilliseconds(audio * AudioFormat.FrameMilliseconds))
            {
                for (int i = 0; i < pcm.Length; i++)
                {
                    pcm[i] = (short)(8000 * Math.Sin(2 * Math.PI * 440 * ((audio * pcm.Length) + i) / AudioFormat.SampleRate));
                }

                publisher.ProcessAudioFrame(pcm);
                audio++;
            }

            await Task.Delay(5, ct); // pacing of the synthetic source, not a synchronisation
        }
    }

    [Fact]
    public async Task Janus_recordings_of_an_MLS_meeting_hold_no_frame_that_decodes_as_the_sent_VP8_or_Opus_while_a_control_without_SFrame_does()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        var (eCreds, e) = await Device("recorded-room");
        var (_, p) = await Device("control-room");
        var encrypted = await e.CreateMeetingAsync("recorded meeting", []);
        var control = await p.CreateMeetingAsync("control without SFrame", []);

        // The MLS meeting: roomd's Janus call code keyed from the member's group.
        using (var member = new MeetingMember(e, eCreds, encrypted.Id, encrypted.CipherSuite))
        {
            Assert.True(await member.JoinExternalAsync(createIfMissing: true, ct));
            var a = await e.JanusAsync(encrypted.Id, ct);
            await using var session = await JanusSession.ConnectAsync(new JanusRoomAccess(a.Url, a.Room, a.SessionToken, a.Pin, a.RoomToken, a.ParticipantId, eCreds.OrganisationCa),
                new StaticKeying(new MlsCallKeys(member.Group), "MLS"), "recorded-room", false, JanusTransport.LocalAddresses(), CallIceServers.None, NullLogger.Instance, ct);
            var publisher = session.StartPublishing(new VideoFormat(PixelFormat.I420, Width, Height, Fps), 1, null);
            await SendAsync(publisher, ct);
            Assert.True(publisher.VideoFramesSent > 10 && publisher.AudioFramesSent > 50, $"sent {publisher.VideoFramesSent} video, {publisher.AudioFramesSent} audio frames");
        }

        // The control: the same source through Room.Call's publisher with no SFrame transform.
        var c = await p.JanusAsync(control.Id, ct);
        await using (var janus = await JanusClient.ConnectAsync(c.Url, c.SessionToken, Room.Crypto.Certificates.ServerCertificateTrust.Callback(_server.Ca, _ => { }), ct))
        {
            using var room = await VideoRoomClient.JoinAsync(janus, c.Room, "control-room", c.Pin, c.RoomToken, c.ParticipantId, ct);
            using var transport = new RtcTransport(JanusTransport.LocalAddresses(), controlling: true);
            var streams = PublishedStreams.CreateRandom();
            var answer = SessionDescription.Parse(await room.PublishAsync(streams.CreateOffer(transport).ToString(), ct));
            transport.ApplyRemote(answer);
            await transport.ConnectAsync(answer.SessionOrFirstMedia("setup") == "passive" ? DtlsRole.Client : DtlsRole.Server, answer.SessionOrFirstMedia("fingerprint")!, ct);
            using var plain = new CallPublisher(transport, streams, new VideoFormat(PixelFormat.I420, Width, Height, Fps),
                new PublisherOptions { Video = new VideoLayer(Width, Height, Fps, 800_000), Encoder = EncoderPreference.SoftwareOnly });
            plain.RequestKeyframe();
            await SendAsync(plain, ct);
        }

        // Ending the meetings destroys the rooms: Janus closes the recordings.
        await e.EndAsync(encrypted.Id, ct);
        await p.EndAsync(control.Id, ct);

        var meeting = await DecodeAsync(encrypted.Id);
        var reference = await DecodeAsync(control.Id);
        string report = $"meeting: {meeting}\ncontrol: {reference}";
        output.WriteLine(report);
        // Janus saw the meeting's media (its recordings hold the packets) ...
        Assert.True(meeting.VideoBytes > 10_000 && meeting.AudioBytes > 8_000, report);
        // ... yet not one frame decodes to the picture or the tone that was sent; the control's do.
        Assert.True(meeting.MatchingPictures == 0 && meeting.MatchingTones == 0, report);
        Assert.True(reference.MatchingPictures >= 10 && reference.MatchingTones >= 50, report);
    }

    private sealed record Decoded(long VideoBytes, long AudioBytes, int Pictures, int MatchingPictures, int AudioFrames, int MatchingTones, string Log)
    {
        public override string ToString() =>
            $"recordings {VideoBytes} B video, {AudioBytes} B audio; {Pictures} pictures decoded, {MatchingPictures} the sent one; " +
            $"{AudioFrames} audio frames decoded, {MatchingTones} the sent tone\n{Log}";
    }

    /// <summary>Converts the meeting's recordings with janus-pp-rec and decodes them with FFmpeg to luma and PCM.</summary>
    private async Task<Decoded> DecodeAsync(string meetingId)
    {
        string dir = Path.Combine(_janus.RecordDirectory!, meetingId);
        var files = Directory.Exists(dir) ? Directory.GetFiles(dir, "*.mjr") : [];
        var log = new System.Text.StringBuilder($"{dir}: {string.Join(", ", files.Select(Path.GetFileName))}\n");
        long videoBytes = 0, audioBytes = 0;
        int pictures = 0, matchingPictures = 0, audioFrames = 0, matchingTones = 0;
        foreach (string mjr in files)
        {
            bool video = Path.GetFileName(mjr).Contains("-video-", StringComparison.Ordinal);
            string converted = Path.Combine(_work, Path.GetFileNameWithoutExtension(mjr) + (video ? ".webm" : ".opus"));
            string raw = converted + ".raw";
            var (code, ppLog) = await ChildProcess.RunAsync("janus-pp-rec", [mjr, converted]);
            log.AppendLine($"janus-pp-rec {Path.GetFileName(mjr)}: exit {code}\n{Tail(ppLog)}");
            if (video)
            {
                videoBytes += new FileInfo(mjr).Length;
            }
            else
            {
                audioBytes += new FileInfo(mjr).Length;
            }

            if (code != 0 || !File.Exists(converted))
            {
                continue; // nothing Janus's own converter could make of it
            }

            // Video: each decoded picture once (no frames repeated for a constant rate), as decoded (I420, no range conversion).
            string[] format = video ? ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", $"{Width}x{Height}"] : ["-f", "s16le", "-ac", "1", "-ar", "48000"];
            var (ffCode, ffLog) = await ChildProcess.RunAsync("ffmpeg", ["-nostdin", "-v", "error", "-y", "-i", converted, .. format, raw]);
            log.AppendLine($"ffmpeg {Path.GetFileName(converted)}: exit {ffCode}\n{Tail(ffLog)}");
            if (!File.Exists(raw))
            {
                continue;
            }

            byte[] data = await File.ReadAllBytesAsync(raw);
            if (video)
            {
                var distances = new List<double>();
                for (int off = 0; off + (Width * Height * 3 / 2) <= data.Length; off += Width * Height * 3 / 2)
                {
                    pictures++;
                    double distance = DistanceFromSentPicture(data.AsSpan(off, Width * Height));
                    distances.Add(distance);
                    matchingPictures += distance < 8 ? 1 : 0;
                }

                log.AppendLine($"pictures' mean distance from the sent ramp (levels): {string.Join(" ", distances.Take(12).Select(d => d.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))}");
            }
            else
            {
                var pcm = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(data.AsSpan(0, data.Length & ~1));
                for (int off = 0; off + AudioFormat.FrameSamples <= pcm.Length; off += AudioFormat.FrameSamples)
                {
                    audioFrames++;
                    matchingTones += IsSentTone(pcm.Slice(off, AudioFormat.FrameSamples)) ? 1 : 0;
                }
            }
        }

        return new Decoded(videoBytes, audioBytes, pictures, matchingPictures, audioFrames, matchingTones, log.ToString());
    }

    private static string Tail(string text) => text.Length > 1500 ? "..." + text[^1500..] : text;

    /// <summary>
    /// The sent picture: on every row the luma is the ramp (x + phase) mod 256. Taking the phase from the row's own
    /// median, the mean distance (mod 256) from the ramp is a few levels for the decoded picture (under 8 counts as the
    /// sent picture), and large for a flat, noisy or garbled one.
    /// </summary>
    private static double DistanceFromSentPicture(ReadOnlySpan<byte> luma)
    {
        double total = 0;
        int n = 0;
        var offsets = new int[Width];
        for (int y = 8; y < Height - 8; y += 16)
        {
            var row = luma.Slice(y * Width, Width);
            for (int x = 0; x < Width; x++)
            {
                offsets[x] = (row[x] - x) & 0xFF;
            }

            int phase = offsets.Order().ElementAt(Width / 2);
            for (int x = 0; x < Width; x++)
            {
                int d = (offsets[x] - phase) & 0xFF;
                total += Math.Min(d, 256 - d);
                n++;
            }
        }

        return total / n;
    }

    /// <summary>A 20 ms frame carries the sent tone: audible, and almost all its energy at 440 Hz.</summary>
    private static bool IsSentTone(ReadOnlySpan<short> frame)
    {
        double energy = 0, re = 0, im = 0;
        for (int i = 0; i < frame.Length; i++)
        {
            double s = frame[i];
            energy += s * s;
            double w = 2 * Math.PI * 440 * i / AudioFormat.SampleRate;
            re += s * Math.Cos(w);
            im += s * Math.Sin(w);
        }

        if (energy / frame.Length < 500 * 500)
        {
            return false;
        }

        double share = 2 * ((re * re) + (im * im)) / (frame.Length * energy);
        return share > 0.6;
    }
}
