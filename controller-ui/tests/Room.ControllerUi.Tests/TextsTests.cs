using Room.Bus.Client;
using Room.ControllerUi.Localization;
using Room.ControllerUi.Services;

namespace Room.ControllerUi.Tests;

public sealed class TextsTests
{
    [Fact]
    public void Every_key_has_words_in_both_languages()
    {
        foreach (var key in Texts.Keys)
        {
            Assert.NotEqual(key, Texts.De[key]);
            Assert.NotEqual(key, Texts.En[key]);
            Assert.False(string.IsNullOrWhiteSpace(Texts.De[key]), key);
            Assert.False(string.IsNullOrWhiteSpace(Texts.En[key]), key);
        }
    }

    [Fact]
    public void Keys_are_unique()
    {
        Assert.Equal(Texts.Keys.Count, Texts.Keys.Distinct().Count());
    }

    [Fact]
    public void German_is_the_default_and_unknown_languages_fall_back_to_it()
    {
        Assert.Same(Texts.De, Texts.For(null));
        Assert.Same(Texts.De, Texts.For("fr"));
        Assert.Same(Texts.En, Texts.For("en"));
    }

    [Fact]
    public void An_unknown_key_shows_itself_instead_of_throwing()
    {
        Assert.Equal("no.such.key", Texts.En["no.such.key"]);
    }

    [Theory]
    [InlineData("123451234512345", new[] { "12345", "12345", "12345" })]
    [InlineData("12345 67890 12", new[] { "12345", "67890", "12" })]
    [InlineData("", new string[0])]
    public void Security_codes_are_grouped_in_fives(string code, string[] groups)
    {
        Assert.Equal(groups, Texts.Group(code));
    }

    [Theory]
    [InlineData("#123", "#123")]
    [InlineData("#a1B2c3", "#a1B2c3")]
    [InlineData("red", "#000000")]
    [InlineData("#12345", "#000000")]
    [InlineData("#123456;background:url(x)", "#000000")]
    [InlineData(null, "#000000")]
    public void Only_plain_hex_colours_reach_the_page(string? value, string expected)
    {
        Assert.Equal(expected, BrandOptions.SafeColor(value, "#000000"));
    }

    [Fact]
    public void The_featured_meeting_is_the_current_one_else_the_next()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var past = new CalendarEntry("Past", "room:past", now.AddHours(-2), now.AddHours(-1));
        var current = new CalendarEntry("Current", "room:current", now.AddMinutes(-10), now.AddMinutes(20));
        var next = new CalendarEntry("Next", "room:next", now.AddHours(1), now.AddHours(2));
        PanelView View(params CalendarEntry[] e) =>
            new(RoomStatus.Empty with { Upcoming = e }, Link.Online, null, Texts.De, false);

        Assert.Equal("Current", View(past, current, next).Featured(now)?.Title);
        Assert.Equal("Next", View(past, next).Featured(now)?.Title);
        Assert.Null(View(past).Featured(now));
    }
}
