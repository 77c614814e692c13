using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Room.Crypto.Bench.SFrameBench).Assembly).Run(args);
