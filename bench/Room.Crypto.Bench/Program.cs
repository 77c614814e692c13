using BenchmarkDotNet.Running;
using Room.Crypto.Bench;

if (args.Length > 0 && args[0] == "--quick")
{
    // Plain Stopwatch loop for a fast look (not a substitute for the BenchmarkDotNet run).
    // "--quick mls [MlsRs|BlankTree|Filled ...]" runs only the MLS commits (of those shapes).
    bool mlsOnly = args.Length > 1 && args[1] == "mls";
    QuickRun.Run(sframe: !mlsOnly, shapes: [.. args.Skip(2).Select(Enum.Parse<TreeShape>)]);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(SFrameBench).Assembly).Run(args);
