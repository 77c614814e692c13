using System.Numerics;

namespace Room.Media.Audio.Doa;

/// <summary>
/// One 20 ms block of one channel to its spectrum: Hann window, zero-padded to the next power of two, FFT. Shared by
/// the voice activity detector and the direction finder. Buffers are owned; no allocation per block.
/// </summary>
internal sealed class BlockSpectrum
{
    private readonly float[] _window;
    private readonly Fft _fft;

    public BlockSpectrum(int blockFrames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockFrames, 16);
        _window = new float[blockFrames];
        for (var n = 0; n < blockFrames; n++)
        {
            _window[n] = (float)(0.5 - (0.5 * Math.Cos(2 * Math.PI * n / blockFrames)));
        }

        _fft = new Fft((int)BitOperations.RoundUpToPowerOf2((uint)blockFrames));
        Bins = new Complex[_fft.Size];
    }

    public int BlockFrames => _window.Length;

    public int FftSize => _fft.Size;

    /// <summary>The last transform; bin k is k·rate/FftSize Hz.</summary>
    public Complex[] Bins { get; }

    /// <summary>Transforms channel <paramref name="channel"/> of an interleaved block (values already checked finite).</summary>
    public void Transform(ReadOnlySpan<float> interleaved, int channels, int channel)
    {
        var bins = Bins.AsSpan();
        for (var n = 0; n < _window.Length; n++)
        {
            bins[n] = new Complex(interleaved[(n * channels) + channel] * _window[n], 0);
        }

        bins[_window.Length..].Clear();
        _fft.Forward(bins);
    }

    /// <summary>The bin nearest <paramref name="hz"/>, within 1..FftSize/2-1.</summary>
    public int Bin(double hz, int sampleRate) => Math.Clamp((int)Math.Round(hz * FftSize / sampleRate), 1, (FftSize / 2) - 1);
}
