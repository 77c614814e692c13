using Microsoft.Extensions.Logging;

namespace Room.Rtc.Ice;

/// <summary>
/// The agent's <see cref="IceState"/>: every change is logged with why it happened (a failed or dropped ICE says why,
/// with the agent's diagnostics), and announced on the thread pool (handlers never run under the agent's lock).
/// </summary>
internal sealed class IceStateMachine(ILogger logger, Func<string> diagnostics)
{
    public IceState State { get; private set; } = IceState.New;

    /// <summary>Why the agent last failed (null until it does).</summary>
    public string? FailureReason { get; private set; }

    public event Action<IceState>? Changed;

    public void Set(IceState state, string why)
    {
        if (State == state) return;
        if (state is IceState.Failed or IceState.Disconnected)
            logger.LogWarning("ICE {State} (was {Previous}): {Why}; {Diagnostics}", state, State, why, diagnostics());
        else
            logger.LogDebug("ICE {State} (was {Previous}): {Why}", state, State, why);
        if (state == IceState.Failed) FailureReason = why;
        State = state;
        var handler = Changed;
        if (handler is not null) ThreadPool.QueueUserWorkItem(_ => handler(state));
    }
}
