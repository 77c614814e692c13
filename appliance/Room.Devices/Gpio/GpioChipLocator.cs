using System.Globalization;
using Room.Devices.Interop;

namespace Room.Devices.Gpio;

/// <summary>The configured GPIO chip is not there (never was, or went away): the controls wait for it.</summary>
public sealed class GpioChipMissingException(string message) : IOException(message);

/// <summary>Finds the configured chip's number among /dev/gpiochip* (by label when one is configured).</summary>
public static class GpioChipLocator
{
    /// <summary>The chip number, or <see cref="GpioChipMissingException"/> saying what was looked for.</summary>
    public static int Find(GpioControlsOptions options, string devRoot = "/dev")
    {
        if (options.ChipLabel is not { } label)
        {
            return File.Exists(Path.Combine(devRoot, $"gpiochip{options.Chip}"))
                ? options.Chip
                : throw new GpioChipMissingException($"no GPIO chip gpiochip{options.Chip}");
        }

        var seen = new List<string>();
        foreach (var path in (Directory.Exists(devRoot) ? Directory.GetFiles(devRoot, "gpiochip*") : []).Order(StringComparer.Ordinal))
        {
            if (GpioChardev.Info(path) is not { } info)
            {
                continue;
            }

            if (info.Label == label && Number(info.Name) is { } n)
            {
                return n;
            }

            seen.Add($"{info.Name} '{info.Label}'");
        }

        throw new GpioChipMissingException($"no GPIO chip labelled '{label}'" + (seen.Count > 0 ? $" (present: {string.Join(", ", seen)})" : " (no GPIO chip present)"));
    }

    /// <summary>The number of a chip's kernel name ("gpiochip3" is 3); null for any other name.</summary>
    public static int? Number(string name) =>
        name.StartsWith("gpiochip", StringComparison.Ordinal) && name.Length > 8 && name.Length <= 12 && name[8..].All(char.IsAsciiDigit)
        && int.TryParse(name[8..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
}
