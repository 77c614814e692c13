using System.Text;
using Room.Media.Audio;
using Room.Media.Interop;

namespace Room.Media;

/// <summary>What <c>roomctl media</c> shows: library versions, which encoder/decoder each codec gets here and why.</summary>
public static class MediaInfo
{
    /// <summary>
    /// A multi-line report. Probes by opening (and closing) each candidate encoder at <paramref name="layer"/>
    /// (720p30 by default), so call it on demand, not per frame. Never throws.
    /// </summary>
    public static string Report(VideoLayer? layer = null)
    {
        var sb = new StringBuilder();
        sb.Append(VideoEncoder.Probe(layer)).Append('\n');
        if (FFmpeg.Problem is null)
        {
            foreach (var codec in new[] { VideoCodec.H264, VideoCodec.Vp8 })
            {
                try
                {
                    using var d = VideoDecoder.Create(codec);
                    sb.Append(d.Description).Append('\n');
                }
                catch (MediaException e)
                {
                    sb.Append(e.Message).Append('\n');
                }
            }
        }

        if (FFmpeg.Problem is null)
        {
            sb.Append("Hardware codec plumbing: ").Append(HwLayout.Describe()).Append("; VAAPI node ").Append(MediaHardware.VaapiDevice).Append('\n');
        }

        using (var opus = new OpusAudioEncoder())
        {
            sb.Append("Opus: ").Append(opus.Backend).Append(", 48 kHz mono 20 ms, in-band FEC, DTX; devices at ")
              .Append(AudioResampler.MinRate / 1000).Append("..").Append(AudioResampler.MaxRate / 1000).Append(" kHz resampled (speexdsp)\n");
        }

        try
        {
            using var p = new AudioProcessor();
            sb.Append("Echo cancellation / noise suppression / AGC: speexdsp\n");
        }
        catch (MediaException e)
        {
            sb.Append("Echo cancellation unavailable: ").Append(e.Message).Append('\n');
        }

        return sb.ToString().TrimEnd();
    }
}
