using System.Globalization;

namespace Room.Fleet.Jobs;

/// <summary>
/// A bundle's version as image-build writes it (ROOM_BUNDLE_VERSION): two to four dot-separated decimal numbers
/// (<c>1.4.0</c>), compared number by number. Anything else is not a version.
/// </summary>
public sealed class BundleVersion : IComparable<BundleVersion>, IEquatable<BundleVersion>
{
    private readonly int[] _parts;

    private BundleVersion(int[] parts) => _parts = parts;

    public static bool TryParse(string? s, out BundleVersion version)
    {
        version = null!;
        if (s is null or { Length: 0 or > 64 })
        {
            return false;
        }

        var parts = s.Split('.');
        if (parts.Length is < 2 or > 4)
        {
            return false;
        }

        var numbers = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].Length is 0 or > 9 || !parts[i].All(char.IsAsciiDigit))
            {
                return false;
            }

            numbers[i] = int.Parse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture);
        }

        version = new BundleVersion(numbers);
        return true;
    }

    public static BundleVersion Parse(string s) =>
        TryParse(s, out var v) ? v : throw new FormatException($"'{s}' is not a bundle version (2-4 dot-separated numbers)");

    public int CompareTo(BundleVersion? other)
    {
        if (other is null)
        {
            return 1;
        }

        for (var i = 0; i < Math.Max(_parts.Length, other._parts.Length); i++)
        {
            int a = i < _parts.Length ? _parts[i] : 0, b = i < other._parts.Length ? other._parts[i] : 0;
            if (a != b)
            {
                return a.CompareTo(b);
            }
        }

        return 0;
    }

    public bool Equals(BundleVersion? other) => CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is BundleVersion v && Equals(v);

    public override int GetHashCode()
    {
        var trimmed = _parts.AsEnumerable().Reverse().SkipWhile(p => p == 0).Reverse();
        return trimmed.Aggregate(17, HashCode.Combine);
    }

    public override string ToString() => string.Join('.', _parts.Select(p => p.ToString(CultureInfo.InvariantCulture)));

    public static bool operator <(BundleVersion a, BundleVersion b) => a.CompareTo(b) < 0;

    public static bool operator >(BundleVersion a, BundleVersion b) => a.CompareTo(b) > 0;

    public static bool operator <=(BundleVersion a, BundleVersion b) => a.CompareTo(b) <= 0;

    public static bool operator >=(BundleVersion a, BundleVersion b) => a.CompareTo(b) >= 0;

    public static bool operator ==(BundleVersion? a, BundleVersion? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(BundleVersion? a, BundleVersion? b) => !(a == b);
}
