using System.Numerics;

namespace Room.Media.Audio.Doa;

/// <summary>
/// In-place radix-2 complex FFT of one fixed power-of-two size, on spans, with the twiddle factors and the
/// bit-reversal permutation computed once. Served packages were checked first: MathNet.Numerics' managed FFT takes
/// arrays only, recomputes each twiddle with Math.Cos/Sin and runs large sizes through Parallel.For (tasks on the
/// audio thread); FftSharp recomputes Cos/Sin per butterfly and a Math.Log per index. Both are too slow for a
/// transform per channel every 20 ms on a two-core box, so this small one (about 60 lines) is ours. No allocation
/// after construction; immutable, so one instance may be shared by threads.
/// </summary>
public sealed class Fft
{
    private readonly Complex[] _twiddles; // e^{-2πik/N}, k < N/2
    private readonly int[] _swap;         // pairs (i, j), i < j, to exchange for the bit-reversed order

    /// <param name="size">A power of two, 2..2^20.</param>
    public Fft(int size)
    {
        if (size < 2 || size > 1 << 20 || !BitOperations.IsPow2(size))
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "a power of two, 2..2^20");
        }

        Size = size;
        _twiddles = new Complex[size / 2];
        for (var k = 0; k < size / 2; k++)
        {
            var a = -2 * Math.PI * k / size;
            _twiddles[k] = new Complex(Math.Cos(a), Math.Sin(a));
        }

        var bits = BitOperations.Log2((uint)size);
        var swaps = new List<int>();
        for (var i = 0; i < size; i++)
        {
            var j = (int)(ReverseBits((uint)i) >> (32 - bits));
            if (i < j)
            {
                swaps.Add(i);
                swaps.Add(j);
            }
        }

        _swap = [.. swaps];
    }

    public int Size { get; }

    /// <summary>Forward transform, X[k] = Σ x[n] e^{-2πikn/N}, unscaled.</summary>
    public void Forward(Span<Complex> data) => Transform(data, inverse: false);

    /// <summary>Inverse transform, scaled by 1/N, so Inverse(Forward(x)) == x.</summary>
    public void Inverse(Span<Complex> data)
    {
        Transform(data, inverse: true);
        var scale = 1.0 / Size;
        for (var i = 0; i < data.Length; i++)
        {
            data[i] *= scale;
        }
    }

    private void Transform(Span<Complex> data, bool inverse)
    {
        if (data.Length != Size)
        {
            throw new ArgumentException($"the transform is {Size} points; got {data.Length}", nameof(data));
        }

        for (var s = 0; s < _swap.Length; s += 2)
        {
            (data[_swap[s]], data[_swap[s + 1]]) = (data[_swap[s + 1]], data[_swap[s]]);
        }

        for (var half = 1; half < Size; half <<= 1)
        {
            var stride = Size / (2 * half); // twiddle index step at this stage
            for (var start = 0; start < Size; start += 2 * half)
            {
                for (var k = 0; k < half; k++)
                {
                    var w = _twiddles[k * stride];
                    if (inverse)
                    {
                        w = Complex.Conjugate(w);
                    }

                    var a = data[start + k];
                    var b = w * data[start + k + half];
                    data[start + k] = a + b;
                    data[start + k + half] = a - b;
                }
            }
        }
    }

    private static uint ReverseBits(uint v)
    {
        v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
        v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
        v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4);
        v = ((v >> 8) & 0x00FF00FFu) | ((v & 0x00FF00FFu) << 8);
        return (v >> 16) | (v << 16);
    }
}
