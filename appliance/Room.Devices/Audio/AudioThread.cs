using System.Runtime.InteropServices;
using Room.Devices.Interop;

namespace Room.Devices.Audio;

/// <summary>
/// Runs an audio device loop (capture or playback) on a thread of its own at real-time priority (SCHED_FIFO), as
/// sound servers do: the loop only blocks in the device and does little work per block, so it gets the CPU the
/// moment the device is ready, ahead of everything else, and the device's ring neither over- nor underruns. Where
/// the system does not allow it (no CAP_SYS_NICE and RLIMIT_RTPRIO below the priority) the thread runs at normal
/// priority and <see cref="Describe"/> says so. ALSA reads and writes complete synchronously, so such a loop stays
/// on this thread; a device whose calls complete asynchronously (the simulated ones) continues on the thread pool.
/// The lab's measuring instrument (the suite's own mouth and ear) uses it today. roomd does not yet: in the TCG lab
/// on a loaded host its call's audio could not keep up with real time (80-90 xruns on each end in 10 s), and
/// real-time loops that cannot keep up starve the rest of the guest (roomd then missed a restart deadline);
/// that wants an RLIMIT_RTTIME guard and a measured budget first.
/// </summary>
public static class AudioThread
{
    /// <summary>Above normal threads, below the kernel's interrupt threads (50).</summary>
    public const int DefaultPriority = 10;

    private static int _granted;
    private static int _refused;
    private static string _lastRefusal = "";

    /// <summary>Starts <paramref name="loop"/> on a new thread at SCHED_FIFO <paramref name="priority"/>; completes as the loop does.</summary>
    public static Task Run(string name, Func<Task> loop, int priority = DefaultPriority)
    {
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentOutOfRangeException.ThrowIfLessThan(priority, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(priority, 99);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            TryRaise(priority);
            try
            {
                loop().GetAwaiter().GetResult();
                done.TrySetResult();
            }
            catch (OperationCanceledException e)
            {
                done.TrySetCanceled(e.CancellationToken);
            }
#pragma warning disable CA1031 // The loop's failure is handed to whoever awaits it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>Raises the calling thread to SCHED_FIFO <paramref name="priority"/>; false (and why in <see cref="Describe"/>) when not allowed.</summary>
    public static unsafe bool TryRaise(int priority)
    {
        var param = new Libc.SchedParam { Priority = priority };
        if (OperatingSystem.IsLinux() && Libc.SchedSetScheduler(0, Libc.SCHED_FIFO, &param) == 0)
        {
            Interlocked.Increment(ref _granted);
            return true;
        }

        _lastRefusal = OperatingSystem.IsLinux() ? $"sched_setscheduler: {Marshal.GetLastPInvokeErrorMessage()}" : "not Linux";
        Interlocked.Increment(ref _refused);
        return false;
    }

    /// <summary>What the audio threads got so far, for status and logs.</summary>
    public static string Describe()
    {
        int granted = Volatile.Read(ref _granted), refused = Volatile.Read(ref _refused);
        return refused == 0
            ? (granted == 0 ? "no audio threads yet" : "audio threads at real-time priority")
            : $"audio threads at normal priority ({refused} of {granted + refused} refused real-time: {_lastRefusal})";
    }
}
