using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Room.Appliance.Administration;

/// <summary>
/// The last <see cref="Capacity"/> log lines of roomd, for the diagnostics bundle (journald may not be readable by roomd's
/// user). Lines are redacted on the way in: URI fragments (which may hold meeting keys) are cut off.
/// </summary>
public sealed partial class RecentLog(TimeProvider time) : ILoggerProvider
{
    public const int Capacity = 500;

    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>Removes what may be secret from a log line: URI fragments (#k=... carries meeting keys).</summary>
    public static string Redact(string line) => Fragment().Replace(line ?? "", "#[redacted]");

    private void Add(string line)
    {
        _lines.Enqueue(Redact(line));
        while (_lines.Count > Capacity && _lines.TryDequeue(out _))
        {
        }
    }

    [GeneratedRegex(@"#[^\s""']+")]
    private static partial Regex Fragment();

    private sealed class Logger(RecentLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var text = formatter(state, exception);
            if (exception is not null)
            {
                text += $" ({exception.GetType().Name}: {exception.Message})";
            }

            owner.Add(string.Create(CultureInfo.InvariantCulture, $"{owner.NowText()} {logLevel} {category}: {text}"));
        }
    }

    private string NowText() => time.GetUtcNow().ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);
}
