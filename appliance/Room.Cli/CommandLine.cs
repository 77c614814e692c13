using System.Globalization;

namespace Room.Cli;

/// <summary>roomctl's arguments: global options anywhere, then the command words.</summary>
internal sealed record CommandLine(string? BusAddress, bool Json, IReadOnlyList<string> Words, bool PinFromStdin = false)
{
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        string? bus = null;
        var json = false;
        var pinStdin = false;
        var words = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--json":
                    json = true;
                    break;
                case "--pin-stdin":
                    pinStdin = true;
                    break;
                case "--bus":
                    if (i + 1 >= args.Count)
                    {
                        throw new UsageException("--bus needs an address, e.g. --bus unix:path=/run/room/bus.");
                    }

                    bus = args[++i];
                    break;
                case var a when a.StartsWith("--bus=", StringComparison.Ordinal):
                    bus = a["--bus=".Length..];
                    break;
                case "--":
                    words.AddRange(args.Skip(i + 1));
                    i = args.Count;
                    break;
                default:
                    words.Add(args[i]);
                    break;
            }
        }

        return new CommandLine(bus, json, words, pinStdin);
    }

    public static double Number(string text, string what) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw new UsageException($"{what} must be a number, not '{text}'.");

    public static bool OnOff(string text) => text switch
    {
        "on" or "true" or "yes" or "1" => true,
        "off" or "false" or "no" or "0" => false,
        _ => throw new UsageException($"Expected on or off, not '{text}'."),
    };
}

internal sealed class UsageException(string message) : Exception(message)
{
    public UsageException()
        : this("Invalid usage.")
    {
    }

    public UsageException(string message, Exception innerException)
        : this(message + " " + innerException.Message)
    {
    }
}
