using BenchmarkDotNet.Running;
using Room.Crypto.Bench;

if (args.Length > 0 && args[0] == "--quick")
{
    // Plain Stopwatch loop for a fast look (not a substitute for the BenchmarkDotNet run).
    // "--quick mls" runs only the MLS commits.
    QuickRun.Run(sframe: args.Length < 2 || args[1] != "mls");
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(SFrameBench).Assembly).Run(args);
