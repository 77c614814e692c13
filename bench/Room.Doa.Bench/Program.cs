using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Room.Media.Audio;
using Room.Media.Audio.Doa;

BenchmarkSwitcher.FromAssembly(typeof(Room.Doa.Bench.DoaBench).Assembly).Run(args);

namespace Room.Doa.Bench
{

/// <summary>
/// One 20 ms block at 48 kHz through the speaker direction finder (voice activity, one FFT per microphone, the
/// SRP-PHAT map over 1° steps), for a 4- and an 8-microphone linear array and a 6-microphone circular one; and the
/// beamformer's block for comparison. Speech-like input (harmonics with a moving pitch), so every block is mapped.
/// </summary>
[MemoryDiagnoser]
public class DoaBench
{
    private SpeakerDirectionFinder _finder = null!;
    private DelayAndSumBeamformer _beam = null!;
    private short[] _blocks = null!;
    private short[] _mono = null!;
    private int _next;

    [Params("linear4", "linear8", "circular6")]
    public string Array { get; set; } = "linear4";

    [GlobalSetup]
    public void Setup()
    {
        var array = Array switch
        {
            "linear4" => MicrophoneArray.Linear(4, 0.05),
            "linear8" => MicrophoneArray.Linear(8, 0.04),
            _ => MicrophoneArray.Circular(6, 0.0463),
        };
        _finder = new SpeakerDirectionFinder(array);
        _beam = new DelayAndSumBeamformer(new int[array.Count]);
        _mono = new short[AudioFormat.FrameSamples];
        const int Blocks = 50;
        _blocks = new short[Blocks * AudioFormat.FrameSamples * array.Count];
        double phase = 0;
        for (var n = 0; n < Blocks * AudioFormat.FrameSamples; n++)
        {
            var pitch = 140 + (30 * Math.Sin(2 * Math.PI * 0.5 * n / 48000.0));
            phase += 2 * Math.PI * pitch / 48000;
            for (var m = 0; m < array.Count; m++)
            {
                var v = 0.0;
                for (var h = 1; h <= 10; h++)
                {
                    v += Math.Sin(h * (phase - (m * 0.3))) / h;
                }

                _blocks[(n * array.Count) + m] = (short)((6000 * v) + ((n * 7919 % 200) - 100));
            }
        }

        for (var b = 0; b < Blocks; b++)
        {
            _finder.Process(Block(b)); // learn the noise floor
        }
    }

    private ReadOnlySpan<short> Block(int b)
    {
        var size = _blocks.Length / 50;
        return _blocks.AsSpan(b * size, size);
    }

    [Benchmark(Description = "DOA per 20 ms block")]
    public DoaEstimate? Doa()
    {
        _next = (_next + 1) % 50;
        return _finder.Process(Block(_next));
    }

    [Benchmark(Description = "beamformer per 20 ms block")]
    public int Beam()
    {
        _next = (_next + 1) % 50;
        return _beam.Process(Block(_next), _mono);
    }
}
}
