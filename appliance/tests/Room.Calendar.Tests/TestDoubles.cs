using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Room.Calendar.CalDav;
using Room.Calendar.Scheduling;

namespace Room.Calendar.Tests;

/// <summary>A call that does what it is told at once (unit tests of the scheduler; roomd's real one is in RoomdCalendarTests).</summary>
internal sealed class FakeRoomCall : IRoomCall
{
    public List<string> Actions { get; } = [];

    public RoomCallState State { get; set; } = RoomCallState.Idle;

    public string Uri { get; set; } = "";

    public bool OthersPresent { get; set; }

    public event EventHandler? Changed;

    public Task JoinAsync(string uri)
    {
        Actions.Add("join " + uri);
        State = RoomCallState.InCall;
        Uri = uri;
        Changed?.Invoke(this, EventArgs.Empty);
        return Task.CompletedTask;
    }

    public Task LeaveAsync()
    {
        Actions.Add("leave " + Uri);
        State = RoomCallState.Idle;
        Uri = "";
        Changed?.Invoke(this, EventArgs.Empty);
        return Task.CompletedTask;
    }

    /// <summary>Somebody started a call by hand.</summary>
    public void StartByHand(string uri)
    {
        State = RoomCallState.InCall;
        Uri = uri;
    }
}

/// <summary>A calendar source whose resources the test sets; it can be made to fail.</summary>
internal sealed class MemorySource : ICalendarSource
{
    private int _version;

    public Dictionary<string, string> Resources { get; } = [];

    public string? Failure { get; set; }

    public string Key => "memory://calendar";

    public Task<SyncOutcome> SyncAsync(SourceState previous, CancellationToken cancellationToken)
    {
        if (Failure is not null)
        {
            throw new CalendarSyncException(Failure);
        }

        _version++;
        var resources = Resources.ToDictionary(
            r => r.Key,
            r => previous.Resources.TryGetValue(r.Key, out var old) && old.Ics == r.Value ? old : new CalendarResource($"\"{_version}\"", r.Value),
            StringComparer.Ordinal);
        return Task.FromResult(new SyncOutcome(new SourceState(Key, null, $"{_version}", resources), SyncMode.Full, Resources.Count, 0, []));
    }
}

/// <summary>Log lines, kept for assertions about what was decided and why.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue(formatter(state, exception));
}
