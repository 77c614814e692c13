using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Room.HwTests.Lab;

namespace Room.HwTests.Tests;

public partial class CatalogAndFaultTests
{
    private static string SuiteSource([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "..", "Room.HwTests");

    [GeneratedRegex("""(?:RunAsync\(|\()"((?:lab|devices|camera|display|audio|hotplug|roomd)\.[a-z0-9.-]+)"[,)]""")]
    private static partial Regex CheckName();

    [Fact]
    public void The_catalog_lists_exactly_the_checks_the_suite_runs()
    {
        var inSource = Directory.GetFiles(Path.Combine(SuiteSource(), "Checks"), "*.cs").Append(Path.Combine(SuiteSource(), "Program.cs"))
            .SelectMany(f => CheckName().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);
        var catalog = CheckCatalog.All.Where(c => c.Scope != CheckScope.LabHost).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(catalog.Order(StringComparer.Ordinal), inSource.Order(StringComparer.Ordinal));
        Assert.Equal(CheckCatalog.All.Count, CheckCatalog.All.Select(c => c.Name).Distinct().Count());
    }

    [Fact]
    public void The_catalog_names_the_host_checks_host_check_script_prints()
    {
        var script = File.ReadAllText(Path.Combine(SuiteSource(), "..", "lab", "host-checks.py"));
        foreach (var (name, _) in CheckCatalog.All.Where(c => c.Scope == CheckScope.LabHost))
        {
            Assert.Contains($"\"{name}\"", script, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_board_is_not_expected_to_report_the_lab_only_or_host_checks()
    {
        var board = CheckCatalog.Expected(lab: false);
        var lab = CheckCatalog.Expected(lab: true);
        Assert.DoesNotContain("lab.gadget-camera.connect", board);
        Assert.DoesNotContain("host.usb-speaker.tone", board);
        Assert.Contains("host.usb-speaker.tone", lab);
        Assert.Contains("roomd.dbus", board);
        Assert.Equal(CheckCatalog.All.Count, lab.Count);
    }

    [Fact]
    public async Task The_suite_reports_a_check_missing_from_the_catalog_as_failed()
    {
        var output = new StringWriter();
        var suite = new Suite(output);
        await suite.RunAsync("lab.not-in-catalog", TimeSpan.FromSeconds(5), _ => Task.FromResult("ran"));
        Assert.StartsWith("@@HWTEST|FAIL|lab.not-in-catalog|", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, suite.Failed);
    }

    [Fact]
    public async Task In_the_lab_a_skip_says_it_fails_the_run_and_is_counted()
    {
        var output = new StringWriter();
        var suite = new Suite(output) { Lab = true };
        await suite.RunAsync("audio.mixer", TimeSpan.FromSeconds(5), _ => throw new SkipException("no card"));
        suite.End();
        Assert.Contains("@@HWTEST|SKIP|audio.mixer|", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("no card (a skip fails the run in the lab)", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, suite.Skipped);
    }

    [Fact]
    public void Every_fault_names_checks_of_the_catalog_and_no_two_faults_claim_the_same_check()
    {
        foreach (var f in LabFault.All)
        {
            Assert.NotEmpty(f.CaughtBy);
            Assert.All(f.CaughtBy.Concat(f.AlsoFails), c => Assert.True(CheckCatalog.Contains(c), $"{f.Name}: {c} not in the catalog"));
        }

        // All faults are injected in one run: each check's failure must be explained by exactly one fault.
        var claimed = LabFault.All.SelectMany(f => f.CaughtBy.Concat(f.AlsoFails)).ToList();
        Assert.Equal(claimed.Count, claimed.Distinct().Count());
    }

    [Fact]
    public void Fault_names_are_parsed_from_a_comma_list_and_unknown_ones_are_refused()
    {
        Assert.Empty(LabFault.Parse(null));
        Assert.Empty(LabFault.Parse(""));
        Assert.Equal(LabFault.All, LabFault.Parse("all"));
        Assert.Equal(["ptz-offset", "roomd-mixer-ioctl"], LabFault.Parse("ptz-offset, roomd-mixer-ioctl,ptz-offset").Select(f => f.Name));
        var e = Assert.Throws<ArgumentException>(() => LabFault.Parse("ptz-offset,v4l2-ioctl"));
        Assert.Contains("unknown fault 'v4l2-ioctl'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0x5513/0xffff:5", 0x5513u, 0xFFFFu, 5)]
    [InlineData("0xc4c85513/0xffffffff:22", 0xC4C85513u, 0xFFFFFFFFu, 22)]
    public void Ioctl_fault_specs_round_trip(string spec, uint request, uint mask, int errno)
    {
        var f = IoctlFault.Parse(spec);
        Assert.Equal(new IoctlFault(request, mask, errno), f);
        Assert.Equal(f, IoctlFault.Parse(f.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("5513/0xffff:5")]
    [InlineData("0x5513:5")]
    [InlineData("0x15513/0xffff:5")]
    [InlineData("0x5513/0xffff:0")]
    [InlineData("0x5513/0xffff:EIO")]
    [InlineData("0x5513/0x0:5")]
    public void Malformed_ioctl_fault_specs_are_refused(string spec)
    {
        Assert.Throws<FormatException>(() => IoctlFault.Parse(spec));
    }

    [Fact]
    public void The_seccomp_program_checks_architecture_syscall_and_masked_request()
    {
        var p = FaultExec.Program(new IoctlFault(0x5513, 0xFFFF, 5), Architecture.X64);
        Assert.Equal(9, p.Length);
        Assert.Equal(0xC000003Eu, p[1].K);
        Assert.Equal(16u, p[3].K);
        Assert.Equal(0xFFFFu, p[5].K);
        Assert.Equal(0x5513u, p[6].K);
        Assert.Equal(0x00050005u, p[7].K);
        // Every jump lands inside the program.
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i].Code != 0x15)
            {
                continue;
            }

            Assert.True(i + 1 + p[i].Jt < p.Length && i + 1 + p[i].Jf < p.Length, $"instruction {i} jumps out");
        }

        Assert.Throws<PlatformNotSupportedException>(() => FaultExec.Program(new IoctlFault(1, 1, 5), Architecture.S390x));
    }

    // The real filter, on a real program: python3 asks FIONREAD (0x541B) of a pipe under fault-exec.
    private const string Fionread = "import fcntl, os, termios, array\nr, w = os.pipe()\nb = array.array('i', [0])\ntry:\n    fcntl.ioctl(r, termios.FIONREAD, b, True)\n    print('ok', os.getpid())\nexcept OSError as e:\n    print('errno', e.errno, os.getpid())\n";

    private static (string Out, int Pid, int Exit) FaultExecPython(string spec)
    {
        var dll = typeof(FaultExec).Assembly.Location;
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new ProcessStartInfo(dotnet, ["exec", dll, "fault-exec", "--ioctl", spec, "--", "/usr/bin/python3", "-c", Fionread])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        var pid = p.Id;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (stdout.Trim() + stderr.Trim(), pid, p.ExitCode);
    }

    [Fact]
    public void Fault_exec_fails_the_chosen_ioctl_inside_the_program_it_execs_with_the_same_pid()
    {
        var (output, pid, exit) = FaultExecPython("0x541b/0xffff:5");
        Assert.Equal(0, exit);
        Assert.Equal($"errno 5 {pid}", output);
    }

    [Fact]
    public void Fault_exec_leaves_other_ioctls_alone()
    {
        var (output, pid, exit) = FaultExecPython("0x5513/0xffff:5");
        Assert.Equal(0, exit);
        Assert.Equal($"ok {pid}", output);
    }

    [Fact]
    public void Fault_exec_refuses_a_malformed_command_line()
    {
        Assert.Equal(2, FaultExec.Run(["--ioctl", "bad", "--", "/bin/true"], TextWriter.Null));
        Assert.Equal(2, FaultExec.Run(["--ioctl", "0x1/0x1:5"], TextWriter.Null));
        Assert.Equal(2, FaultExec.Run(["--ioctl", "0x1/0x1:5", "/bin/true"], TextWriter.Null));
    }
}
