namespace Room.Media;

/// <summary>
/// A transform applied to whole encoded frames between the encoder and the packetizer (send) or between the jitter
/// buffer and the decoder (receive): end-to-end encryption per frame (SFrame) is the use. Implementations write into
/// the caller's buffer and allocate nothing per frame.
/// </summary>
public interface IFrameTransform
{
    /// <summary>Bytes the output may be longer than the input at most (0 for a transform that only shrinks).</summary>
    int MaxExpansion { get; }

    /// <summary>
    /// Transforms <paramref name="frame"/> into <paramref name="output"/> (at least frame length + <see cref="MaxExpansion"/>);
    /// returns the bytes written, or -1 to drop the frame (it does not authenticate, or is malformed).
    /// </summary>
    int Transform(ReadOnlySpan<byte> frame, bool keyframe, Span<byte> output);
}
