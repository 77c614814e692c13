using System.Runtime.InteropServices;

namespace Room.HwTests.Lab;

/// <summary>
/// <c>Room.HwTests fault-exec --ioctl REQUEST/MASK:ERRNO -- PROGRAM ARGS...</c>: installs a seccomp filter on this
/// thread that fails one ioctl request with an errno, then execve()s PROGRAM on the same thread. The filter survives
/// execve (no_new_privs is set first), so PROGRAM — roomd in the lab — runs with that ioctl failing inside its own
/// process, whatever library makes the call (managed P/Invoke or libasound's C code), and with the same pid.
/// </summary>
public static unsafe partial class FaultExec
{
    private const int PrSetNoNewPrivs = 38, PrSetSeccomp = 22, SeccompModeFilter = 2;
    private const ushort LdWAbs = 0x20, JeqK = 0x15, AndK = 0x54, RetK = 0x06;
    private const uint RetAllow = 0x7fff0000, RetErrno = 0x00050000;

    [StructLayout(LayoutKind.Sequential)]
    public struct SockFilter
    {
        public ushort Code;
        public byte Jt;
        public byte Jf;
        public uint K;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SockFprog
    {
        public ushort Len;
        public SockFilter* Filter;
    }

    /// <summary>The classic-BPF program: for this architecture's ioctl with (args[1] &amp; mask) == request, return errno; allow everything else.</summary>
    public static SockFilter[] Program(IoctlFault fault, Architecture arch)
    {
        var (auditArch, ioctlNr) = arch switch
        {
            Architecture.X64 => (0xC000003Eu, 16u),
            Architecture.Arm64 => (0xC00000B7u, 29u),
            _ => throw new PlatformNotSupportedException($"fault-exec knows no seccomp numbers for {arch}"),
        };
        return
        [
            new() { Code = LdWAbs, K = 4 },                         // 0: seccomp_data.arch
            new() { Code = JeqK, Jt = 0, Jf = 6, K = auditArch },   // 1: another ABI: allow
            new() { Code = LdWAbs, K = 0 },                         // 2: seccomp_data.nr
            new() { Code = JeqK, Jt = 0, Jf = 4, K = ioctlNr },     // 3: not ioctl: allow
            new() { Code = LdWAbs, K = 24 },                        // 4: args[1], low 32 bits (little-endian)
            new() { Code = AndK, K = fault.Mask },                  // 5
            new() { Code = JeqK, Jt = 0, Jf = 1, K = fault.Request }, // 6
            new() { Code = RetK, K = RetErrno | (uint)fault.Errno }, // 7: the fault
            new() { Code = RetK, K = RetAllow },                    // 8
        ];
    }

    /// <summary>Parses the command line after <c>fault-exec</c>, installs the filter and execs; returns only on failure.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter error)
    {
        var sep = args.ToList().IndexOf("--");
        if (args.Count < 4 || args[0] != "--ioctl" || sep != 2 || sep + 1 >= args.Count)
        {
            error.WriteLine("usage: Room.HwTests fault-exec --ioctl REQUEST/MASK:ERRNO -- PROGRAM [ARGS...]");
            return 2;
        }

        IoctlFault fault;
        try
        {
            fault = IoctlFault.Parse(args[1]);
        }
        catch (FormatException e)
        {
            error.WriteLine("fault-exec: " + e.Message);
            return 2;
        }

        var program = args[sep + 1];
        var argv = args.Skip(sep + 1).ToArray();
        var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Select(e => $"{e.Key}={e.Value}").ToArray();
        var filter = Program(fault, RuntimeInformation.ProcessArchitecture);
        fixed (SockFilter* f = filter)
        {
            var prog = new SockFprog { Len = (ushort)filter.Length, Filter = f };
            if (Prctl(PrSetNoNewPrivs, 1, 0, 0, 0) != 0)
            {
                error.WriteLine("fault-exec: prctl(PR_SET_NO_NEW_PRIVS): " + Marshal.GetLastPInvokeErrorMessage());
                return 1;
            }

            // This thread only: execve below runs on it and the new program keeps its filter (other threads end).
            if (Prctl(PrSetSeccomp, SeccompModeFilter, (nuint)(&prog), 0, 0) != 0)
            {
                error.WriteLine("fault-exec: prctl(PR_SET_SECCOMP): " + Marshal.GetLastPInvokeErrorMessage());
                return 1;
            }
        }

        var err = ExecVe(program, argv, env);
        error.WriteLine($"fault-exec: execve {program}: {err}");
        return 127;
    }

    private static string ExecVe(string path, string[] argv, string[] env)
    {
        var owned = new List<nint>();
        nint Str(string s)
        {
            var p = Marshal.StringToCoTaskMemUTF8(s);
            owned.Add(p);
            return p;
        }

        try
        {
            var a = argv.Select(Str).Append(0).ToArray();
            var e = env.Select(Str).Append(0).ToArray();
            fixed (nint* pa = a, pe = e)
            {
                _ = Execve(path, pa, pe);
            }

            return Marshal.GetLastPInvokeErrorMessage();
        }
        finally
        {
            owned.ForEach(Marshal.FreeCoTaskMem);
        }
    }

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Execve(string path, nint* argv, nint* envp);
}
