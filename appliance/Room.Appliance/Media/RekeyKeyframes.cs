using Room.Crypto.Media;
using Room.Media;

namespace Room.Appliance.Media;

/// <summary>
/// After a rekey the receivers hold the new epoch's keys and soon only those: the sender must start the new epoch with
/// a keyframe, so that nobody waits for one to decode again. On each rekey this asks the encoder for a keyframe and
/// then watches that one comes within <see cref="WithinFrames"/> encoded frames, for the media report.
/// </summary>
public sealed class RekeyKeyframes(VideoSendPipeline send, MlsSFrameBinding keys)
{
    /// <summary>The encoder has no lookahead: the next frame after the request is the keyframe, or the one after it when a frame was in flight.</summary>
    public const int WithinFrames = 1;

    private readonly Lock _gate = new();
    private bool _pending;
    private long _framesAtRekey;

    public int Rekeys { get; private set; }

    /// <summary>The epoch of the last rekey (0 before the first).</summary>
    public ulong Epoch { get; private set; }

    /// <summary>Rekeys answered by a keyframe within <see cref="WithinFrames"/> frames.</summary>
    public int Forced { get; private set; }

    /// <summary>Rekeys whose keyframe came later than that.</summary>
    public int Late { get; private set; }

    /// <summary>Most frames encoded from a rekey until its keyframe was seen.</summary>
    public long LongestWait { get; private set; }

    /// <summary>Subscribe to the send binding's <see cref="MlsSFrameBinding.KeyframeNeeded"/>.</summary>
    public void OnRekey(object? sender, ulong epoch)
    {
        lock (_gate)
        {
            if (_pending)
            {
                Late++; // rekeyed again before the last rekey's keyframe: count it as not answered in time
            }

            Rekeys++;
            Epoch = epoch;
            _pending = true;
            _framesAtRekey = send.FramesProcessed;
        }

        send.RequestKeyframe();
    }

    /// <summary>Call after frames were sent (the media poll loop): notes the keyframe that answers a rekey.</summary>
    public void Check()
    {
        lock (_gate)
        {
            if (!_pending || send.LastKeyframeFrame < _framesAtRekey)
            {
                return;
            }

            _pending = false;
            // Frames encoded after the rekey before the keyframe: 0 when the very next frame was the keyframe.
            var distance = send.LastKeyframeFrame - _framesAtRekey;
            LongestWait = Math.Max(LongestWait, distance);
            if (distance <= WithinFrames)
            {
                Forced++;
            }
            else
            {
                Late++;
            }
        }

        keys.KeyframeSent();
    }

    public string Describe()
    {
        lock (_gate)
        {
            return $"rekeys {Rekeys} (epoch {Epoch}), keyframe within {WithinFrames} frames after {Forced}, later after {Late}, awaited {(_pending ? 1 : 0)}, longest wait {LongestWait} frames";
        }
    }
}
