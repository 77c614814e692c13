using Room.Fleet.Jobs;

namespace Room.Fleet.Tests;

public sealed class VersionFloorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-fleet-floor-").FullName;

    private string FloorFile => Path.Combine(_dir, "state", "version-floor");

    [Theory]
    [InlineData("1.2.3", "1.2.4", -1)]
    [InlineData("1.10.0", "1.9.9", 1)]
    [InlineData("1.2", "1.2.0", 0)]
    [InlineData("2.0.0.1", "2.0.0", 1)]
    public void Versions_compare_number_by_number(string a, string b, int sign) =>
        Assert.Equal(sign, Math.Sign(BundleVersion.Parse(a).CompareTo(BundleVersion.Parse(b))));

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("1.2.3.4.5")]
    [InlineData("1..2")]
    [InlineData("1.2-rc1")]
    [InlineData("-1.2")]
    [InlineData("1.2 ")]
    [InlineData("１.２")]
    [InlineData("9999999999.1")]
    public void Malformed_versions_are_not_versions(string s) => Assert.False(BundleVersion.TryParse(s, out _));

    [Fact]
    public void The_floor_is_the_running_version_until_one_is_recorded()
    {
        var floor = new VersionFloor(FloorFile);
        Assert.Equal(BundleVersion.Parse("1.4.0"), floor.Current(BundleVersion.Parse("1.4.0")));
    }

    [Fact]
    public void The_floor_survives_a_restart_and_only_rises_unless_a_rollback_sets_it()
    {
        new VersionFloor(FloorFile).Record(BundleVersion.Parse("1.6.0"), rollback: false);
        var reopened = new VersionFloor(FloorFile);
        Assert.Equal(BundleVersion.Parse("1.6.0"), reopened.Current(BundleVersion.Parse("1.4.0")));

        reopened.Record(BundleVersion.Parse("1.5.0"), rollback: false);
        Assert.Equal(BundleVersion.Parse("1.6.0"), reopened.Stored);

        reopened.Record(BundleVersion.Parse("1.5.0"), rollback: true);
        Assert.Equal(BundleVersion.Parse("1.5.0"), new VersionFloor(FloorFile).Stored);
        Assert.False(File.Exists(FloorFile + ".tmp"));
    }

    [Fact]
    public void A_damaged_floor_file_falls_back_to_the_running_version_not_to_nothing()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FloorFile)!);
        File.WriteAllText(FloorFile, "garbage\0\0");
        var floor = new VersionFloor(FloorFile);
        Assert.Null(floor.Stored);
        Assert.Equal(BundleVersion.Parse("1.4.0"), floor.Current(BundleVersion.Parse("1.4.0")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
