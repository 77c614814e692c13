namespace Room.Call.Tests;

/// <summary>The loudness the room display picks the active speaker by.</summary>
public sealed class RemoteAudioLevelTests
{
    [Fact]
    public void Loudness_is_the_frames_rms_rising_at_once_and_falling_slowly()
    {
        var speech = new short[960];
        speech.AsSpan().Fill(3277); // 0.1 of full scale
        Assert.Equal(0.1f, RemoteAudio.Rms(speech), 3);
        Assert.Equal(0f, RemoteAudio.Rms(new short[960]));

        var level = RemoteAudio.Smooth(0, RemoteAudio.Rms(speech));
        Assert.Equal(0.1f, level, 3);
        var after = RemoteAudio.Smooth(level, 0);
        Assert.InRange(after, 0.05f, 0.0999f); // a gap between words does not drop the speaker at once
        for (var i = 0; i < 50; i++)
        {
            after = RemoteAudio.Smooth(after, 0);
        }

        Assert.True(after < 0.01f, $"after a second of silence the level is {after}");
    }
}
