namespace Room.HwTests.Lab;

/// <summary>
/// <c>Room.HwTests judge --log FILE [--lab] [--known FILE] [--exit N] [--faults A,B] [--title T] [--trx FILE]</c>:
/// the host's verdict on a run (see <see cref="LabVerdict"/>); prints the report, writes the test results file,
/// exits 0 only when the run passed.
/// </summary>
public static class JudgeCommand
{
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        string? log = null, known = null, trx = null, title = null, faults = null;
        int? exit = null;
        var lab = false;
        for (var i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--log": log = Next(); break;
                    case "--known": known = Next(); break;
                    case "--trx": trx = Next(); break;
                    case "--title": title = Next(); break;
                    case "--faults": faults = Next(); break;
                    case "--lab": lab = true; break;
                    case "--exit":
                        exit = int.TryParse(Next(), System.Globalization.CultureInfo.InvariantCulture, out var x) ? x : throw new ArgumentException("--exit needs a number");
                        break;
                    default: throw new ArgumentException($"unknown argument {args[i]}");
                }
            }
            catch (ArgumentException e)
            {
                error.WriteLine("judge: " + e.Message);
                return 2;
            }
        }

        if (log is null)
        {
            error.WriteLine("judge: --log FILE is required");
            return 2;
        }

        VerdictOptions options;
        try
        {
            options = new VerdictOptions
            {
                Lab = lab,
                Expected = CheckCatalog.Expected(lab),
                KnownFailures = known is null ? new Dictionary<string, string>() : LabVerdict.ReadKnownFailures(File.ReadLines(known)),
                ExitStatus = exit,
                Faults = LabFault.Parse(faults),
            };
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException)
        {
            error.WriteLine("judge: " + e.Message);
            return 2;
        }

        var verdict = LabVerdict.Judge(File.Exists(log) ? File.ReadLines(log) : [], options);
        output.WriteLine(LabVerdict.Report(verdict, title ?? (lab ? "QEMU lab" : "board")));
        if (trx is not null)
        {
            LabVerdict.WriteTrx(verdict, options.Faults.Count > 0 ? "hw-test-fault" : "hw-test", trx);
        }

        return verdict.Ok ? 0 : 1;
    }
}
