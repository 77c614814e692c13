using Room.Devices.Audio;

namespace Room.Devices.Tests;

public sealed class AudioThreadTests
{
    [Fact]
    public async Task A_loop_runs_on_a_named_thread_of_its_own_and_completes_with_it()
    {
        string? name = null;
        bool pool = true;
        await AudioThread.Run("test-audio", () =>
        {
            name = Thread.CurrentThread.Name;
            pool = Thread.CurrentThread.IsThreadPoolThread;
            return Task.CompletedTask;
        });
        Assert.Equal("test-audio", name);
        Assert.False(pool);
    }

    [Fact]
    public async Task A_loop_that_fails_hands_its_exception_to_the_awaiter()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => AudioThread.Run("test-audio", () => throw new InvalidOperationException("device gone")));
        Assert.Equal("device gone", e.Message);
    }

    [Fact]
    public async Task A_cancelled_loop_ends_cancelled()
    {
        using var cts = new CancellationTokenSource();
        var run = AudioThread.Run("test-audio", async () => await Task.Delay(Timeout.Infinite, cts.Token));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.True(run.IsCanceled);
    }

    [Fact]
    public async Task The_thread_gets_real_time_priority_exactly_when_the_system_allows_it()
    {
        // As root (CI, the lab) SCHED_FIFO is allowed; elsewhere only with RLIMIT_RTPRIO: compare with /proc's view.
        string? policy = null;
        bool granted = false;
        await AudioThread.Run("test-audio", () =>
        {
            granted = AudioThread.TryRaise(AudioThread.DefaultPriority);
            var stat = File.ReadAllText($"/proc/thread-self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            policy = fields[38]; // field 41 (policy), counted after the command name's closing parenthesis
            return Task.CompletedTask;
        });
        Assert.Equal(granted ? "1" : "0", policy);
        Assert.Contains(granted ? "real-time priority" : "normal priority", AudioThread.Describe(), StringComparison.Ordinal);
    }
}
