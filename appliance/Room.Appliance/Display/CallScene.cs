using Room.Appliance.Media;
using Room.Media;
using Room.Media.Display;

namespace Room.Appliance.Display;

/// <summary>
/// Turns the call as it is now (the far end's feeds with their latest decoded pictures and loudness, our own camera,
/// how the media is protected) into a <see cref="RoomScene"/> for the compositor. Pictures are copied into buffers
/// kept from frame to frame (reallocated only when a picture's size changes), and only when a new picture arrived, so
/// a steady call allocates nothing. Not thread-safe: the display's loop owns it.
/// </summary>
public sealed class CallScene
{
    /// <summary>Far-end participants shown at most (the layouts show 9 and an overflow tile for the rest).</summary>
    public const int MaxPeople = 16;

    /// <summary>Loudness (RMS of full scale) under which nobody counts as speaking: about -40 dBFS, as the jitter buffer's pause.</summary>
    public const float SpeechLevel = 0.01f;

    /// <summary>How much louder than the current speaker someone must be to take over (no flapping between two voices).</summary>
    public const float TakeOver = 1.5f;

    private readonly Participant[] _people = new Participant[MaxPeople];
    private readonly Slot[] _slots = new Slot[MaxPeople];
    private readonly Slot _self = new();
    private int _count;
    private long _speakerFeed = long.MinValue;
    private int _speaker;

    public CallScene()
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot();
        }
    }

    /// <summary>How the encryption badge reads: end-to-end only when the media is protected with keys from an MLS group.</summary>
    /// <param name="inCall">A call is running.</param>
    /// <param name="overNetwork">Its media crosses the network (DTLS-SRTP at least) rather than looping inside roomd.</param>
    /// <param name="mlsKeyed">Every frame is SFrame-protected with keys from the meeting's MLS group.</param>
    public static EncryptionState EncryptionOf(bool inCall, bool overNetwork, bool mlsKeyed) =>
        !inCall ? EncryptionState.Unknown
        : mlsKeyed ? EncryptionState.EndToEnd
        : overNetwork ? EncryptionState.TransportOnly
        : EncryptionState.Unknown;

    /// <summary>The feed of the active speaker (none yet: <see cref="long.MinValue"/>).</summary>
    public long SpeakerFeed => _speakerFeed;

    /// <summary>The people of the last <see cref="Update"/>, in feed order.</summary>
    public ReadOnlySpan<Participant> People => _people.AsSpan(0, _count);

    /// <summary>Our own camera's picture of the last <see cref="Update"/> (empty when none).</summary>
    public VideoPicture SelfView => _self.Picture;

    /// <summary>
    /// Takes the call as it is now: each feed's newest picture (copied only when it is new), its name
    /// (<paramref name="names"/>, by feed; a missing one shows as the tile's "?"), the loudest speaker, and the self-view.
    /// </summary>
    /// <returns>True when anything shown changed since the last call (a new picture, someone came or went, another speaker).</returns>
    public bool Update(ReadOnlySpan<FarEndFeed> feeds, IReadOnlyDictionary<long, string> names, ILatestPicture? selfView)
    {
        ArgumentNullException.ThrowIfNull(names);
        var changed = false;
        var count = Math.Min(feeds.Length, MaxPeople);
        if (count != _count)
        {
            changed = true;
        }

        for (var i = 0; i < count; i++)
        {
            var feed = feeds[i];
            var slot = _slots[i];
            changed |= slot.Take(feed.Feed, feed.Video);
            var name = names.TryGetValue(feed.Feed, out var known) ? known : "";
            changed |= !ReferenceEquals(name, _people[i].Name);
            _people[i] = new Participant(name, slot.Picture);
        }

        for (var i = count; i < _count; i++)
        {
            _slots[i].Forget();
            _people[i] = default;
        }

        _count = count;
        changed |= _self.Take(-1, selfView);
        changed |= PickSpeaker(feeds[..count]);
        return changed;
    }

    /// <summary>The scene to compose now, over this object's buffers (valid until the next <see cref="Update"/>).</summary>
    public RoomScene Scene(DisplayLayout layout, EncryptionState encryption) => new()
    {
        Layout = layout,
        People = People,
        ActiveSpeaker = _speaker,
        SelfView = _self.Picture,
        MirrorSelfView = true,
        Encryption = encryption,
    };

    /// <summary>Forgets the call (its pictures are not shown again in the next one).</summary>
    public void Clear()
    {
        for (var i = 0; i < _count; i++)
        {
            _slots[i].Forget();
            _people[i] = default;
        }

        _self.Forget();
        _count = 0;
        _speakerFeed = long.MinValue;
        _speaker = 0;
    }

    /// <summary>The loudest participant above <see cref="SpeechLevel"/> speaks; the current speaker keeps the floor until someone is clearly louder.</summary>
    private bool PickSpeaker(ReadOnlySpan<FarEndFeed> feeds)
    {
        int current = -1, loudest = -1;
        for (var i = 0; i < feeds.Length; i++)
        {
            if (feeds[i].Feed == _speakerFeed)
            {
                current = i;
            }

            if (feeds[i].Level >= SpeechLevel && (loudest < 0 || feeds[i].Level > feeds[loudest].Level))
            {
                loudest = i;
            }
        }

        var pick = current >= 0 ? current : loudest;
        if (loudest >= 0 && current >= 0 && loudest != current && feeds[loudest].Level > feeds[current].Level * TakeOver)
        {
            pick = loudest;
        }

        // Nobody has spoken yet (or the speaker left): the first participant is shown as the speaker.
        var feed = pick >= 0 ? feeds[pick].Feed : long.MinValue;
        var index = Math.Max(pick, 0);
        var changed = feed != _speakerFeed || index != _speaker;
        (_speakerFeed, _speaker) = (feed, index);
        return changed;
    }

    /// <summary>One picture's buffer, and which source and picture it holds.</summary>
    private sealed class Slot
    {
        private byte[] _buffer = [];
        private ILatestPicture? _source;
        private long _feed = long.MinValue;
        private long _seen = -1;

        public VideoPicture Picture { get; private set; }

        /// <summary>Copies the source's picture when it is a new one; true when the picture shown changed.</summary>
        public bool Take(long feed, ILatestPicture? source)
        {
            if (source is null)
            {
                var had = !Picture.IsEmpty || feed != _feed;
                (_source, _feed, _seen, Picture) = (null, feed, -1, default);
                return had;
            }

            var pictures = source.Pictures;
            if (ReferenceEquals(source, _source) && feed == _feed && pictures == _seen)
            {
                return false;
            }

            (_source, _feed) = (source, feed);
            if (!source.TryCopyLatestI420(_buffer, out var w, out var h))
            {
                var size = LatestPicture.I420Size(w, h);
                if (size < 0)
                {
                    var had = !Picture.IsEmpty;
                    Picture = default; // nothing decoded yet
                    _seen = pictures;
                    return had;
                }

                _buffer = new byte[size]; // first picture, or its size changed
                if (!source.TryCopyLatestI420(_buffer, out w, out h))
                {
                    return false; // the size changed again in between: next frame
                }
            }

            _seen = pictures;
            Picture = new VideoPicture(_buffer.AsMemory(0, LatestPicture.I420Size(w, h)), w, h);
            return true;
        }

        public void Forget()
        {
            (_source, _feed, _seen, Picture) = (null, long.MinValue, -1, default);
        }
    }
}
