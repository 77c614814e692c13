using System.Globalization;

namespace Room.Devices.Audio;

/// <summary>A sound card from /proc/asound/cards.</summary>
public sealed record AlsaCard(int Index, string Id, string Driver, string Name, string LongName);

/// <summary>A PCM device from /proc/asound/pcm ("00-01: id : name : playback 1 : capture 1").</summary>
public sealed record AlsaPcmDevice(int Card, int Device, string Id, string Name, int PlaybackSubdevices, int CaptureSubdevices);

/// <summary>Channel counts and rates of a USB audio card (/proc/asound/cardN/stream0); null when not stated.</summary>
public sealed record AlsaStreamInfo(int? PlaybackChannels, int? CaptureChannels, IReadOnlyList<int> PlaybackRates, IReadOnlyList<int> CaptureRates);

/// <summary>One card with its PCM devices and what /proc says about it.</summary>
public sealed record AlsaCardInventory(AlsaCard Card, IReadOnlyList<AlsaPcmDevice> Devices, AlsaStreamInfo? Stream, string? UsbId);

/// <summary>Parsers for ALSA's /proc/asound text. Malformed lines are skipped; nothing throws.</summary>
public static class ProcAsound
{
    public static IReadOnlyList<AlsaCard> ParseCards(string text)
    {
        var cards = new List<AlsaCard>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimStart();
            var open = line.IndexOf('[', StringComparison.Ordinal);
            var close = line.IndexOf(']', StringComparison.Ordinal);
            if (open <= 0 || close < open
                || !int.TryParse(line.AsSpan(0, open).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                || index is < 0 or > 255)
            {
                continue;
            }

            var id = line[(open + 1)..close].Trim();
            var rest = line[(close + 1)..];
            if (id.Length == 0 || !rest.StartsWith(':'))
            {
                continue;
            }

            rest = rest[1..].Trim();
            var dash = rest.IndexOf(" - ", StringComparison.Ordinal);
            var driver = dash < 0 ? rest : rest[..dash].Trim();
            var name = dash < 0 ? rest : rest[(dash + 3)..].Trim();
            var longName = i + 1 < lines.Length && lines[i + 1].StartsWith("  ", StringComparison.Ordinal) && !lines[i + 1].Contains('[', StringComparison.Ordinal)
                ? lines[i + 1].Trim()
                : name;
            if (cards.TrueForAll(c => c.Index != index))
            {
                cards.Add(new AlsaCard(index, id, driver, name, longName));
            }
        }

        return cards;
    }

    public static IReadOnlyList<AlsaPcmDevice> ParsePcm(string text)
    {
        var list = new List<AlsaPcmDevice>();
        foreach (var raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = raw.IndexOf(':', StringComparison.Ordinal);
            if (colon != 5 || raw[2] != '-'
                || !int.TryParse(raw.AsSpan(0, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var card)
                || !int.TryParse(raw.AsSpan(3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var device))
            {
                continue;
            }

            var parts = raw[(colon + 1)..].Split(" : ", StringSplitOptions.TrimEntries);
            if (parts.Length < 2)
            {
                continue;
            }

            int playback = 0, capture = 0;
            foreach (var p in parts.Skip(2))
            {
                var sp = p.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (sp.Length == 2 && int.TryParse(sp[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < 1024)
                {
                    if (sp[0] == "playback")
                    {
                        playback = n;
                    }
                    else if (sp[0] == "capture")
                    {
                        capture = n;
                    }
                }
            }

            list.Add(new AlsaPcmDevice(card, device, parts[0], parts[1], playback, capture));
        }

        return list;
    }

    /// <summary>Parses a USB audio stream file: the largest channel count and all rates per direction.</summary>
    public static AlsaStreamInfo ParseStream(string text)
    {
        int? play = null, cap = null;
        var playRates = new SortedSet<int>();
        var capRates = new SortedSet<int>();
        string? section = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line is "Playback:" or "Capture:")
            {
                section = line;
                continue;
            }

            if (section is null)
            {
                continue;
            }

            if (line.StartsWith("Channels:", StringComparison.Ordinal)
                && int.TryParse(line.AsSpan(9).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var ch) && ch is > 0 and <= 64)
            {
                if (section == "Playback:")
                {
                    play = Math.Max(play ?? 0, ch);
                }
                else
                {
                    cap = Math.Max(cap ?? 0, ch);
                }
            }
            else if (line.StartsWith("Rates:", StringComparison.Ordinal))
            {
                var set = section == "Playback:" ? playRates : capRates;
                var body = line[6..];
                var cont = body.IndexOf('(', StringComparison.Ordinal);
                if (cont >= 0)
                {
                    body = body[..cont];
                }

                foreach (var r in body.Split([',', '-'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (int.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out var rate) && rate is >= 4000 and <= 768000)
                    {
                        set.Add(rate);
                    }
                }
            }
        }

        return new AlsaStreamInfo(play, cap, [.. playRates], [.. capRates]);
    }

    /// <summary>Reads cards, PCM devices and USB stream info under <paramref name="procRoot"/>/asound.</summary>
    public static IReadOnlyList<AlsaCardInventory> Scan(string procRoot)
    {
        var dir = Path.Combine(procRoot, "asound");
        var cards = ParseCards(Read(Path.Combine(dir, "cards")));
        var pcms = ParsePcm(Read(Path.Combine(dir, "pcm")));
        var result = new List<AlsaCardInventory>();
        foreach (var card in cards)
        {
            var cardDir = Path.Combine(dir, "card" + card.Index.ToString(CultureInfo.InvariantCulture));
            var streamText = Read(Path.Combine(cardDir, "stream0"));
            var usbId = Read(Path.Combine(cardDir, "usbid")).Trim();
            result.Add(new AlsaCardInventory(card, pcms.Where(p => p.Card == card.Index).ToList(),
                streamText.Length > 0 ? ParseStream(streamText) : null, usbId.Length > 0 ? usbId : null));
        }

        return result;
    }

    private static string Read(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : "";
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}
