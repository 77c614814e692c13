using System.Threading.Channels;

namespace Room.Devices.Sharing;

/// <summary>
/// Lets several consumers read one camera at once. A V4L2 device streams to one reader (a second STREAMON fails
/// with EBUSY), yet roomd needs the call's encoder and auto-framing's person detector on the same camera. This
/// opens the device once and lends every frame to each subscriber; the device buffer goes back to the driver when
/// the last subscriber disposes its lease.
/// </summary>
/// <remarks>
/// A subscriber that falls behind loses its oldest queued frame, never holds up the others (a detector that
/// samples twice a second must not stall a 30 fps encoder). <see cref="OpenCaptureAsync"/> is for consumers that
/// need an exact format (encoders); <see cref="OpenAnyCaptureAsync"/> for consumers that can work with whatever
/// runs (analysis) and follow a format change through <see cref="VideoFrame.Format"/>.
/// </remarks>
// CA1001: the SemaphoreSlim never creates its wait handle (no AvailableWaitHandle), so it holds nothing to dispose.
#pragma warning disable CA1001
public sealed class SharedCaptureCamera(ICamera inner) : ICamera
#pragma warning restore CA1001
{
    private readonly Lock _gate = new();
    private readonly List<Subscriber> _subscribers = [];
    private Session? _session;

    /// <summary>The device this wraps.</summary>
    public ICamera Inner => inner;

    public string Id => inner.Id;

    public string Name => inner.Name;

    public PtzLimits Limits => inner.Limits;

    public IReadOnlyList<VideoFormat> Formats => inner.Formats;

    /// <summary>Subscribers currently reading (for tests and diagnostics).</summary>
    public int SubscriberCount
    {
        get
        {
            lock (_gate)
            {
                return _subscribers.Count;
            }
        }
    }

    /// <summary>The format the device streams at, or null while nobody reads it.</summary>
    public VideoFormat? RunningFormat
    {
        get
        {
            lock (_gate)
            {
                return _session?.Format;
            }
        }
    }

    public DeviceInfo Describe() => inner.Describe();

    public ValueTask<PtzPosition> GetPositionAsync(CancellationToken cancellationToken = default) => inner.GetPositionAsync(cancellationToken);

    public ValueTask MoveToAsync(PtzPosition position, CancellationToken cancellationToken = default) => inner.MoveToAsync(position, cancellationToken);

    /// <summary>
    /// Subscribes at exactly <paramref name="format"/>. Joins the running stream if it has that format; restarts
    /// the device at it if only flexible subscribers read; fails if another exact subscriber needs another format.
    /// </summary>
    public ValueTask<IVideoCapture> OpenCaptureAsync(VideoFormat format, CancellationToken cancellationToken = default) =>
        OpenAsync(format, exact: true, accept: null, cancellationToken);

    /// <summary>
    /// Subscribes to the running stream if <paramref name="accept"/> takes its format, otherwise opens
    /// <paramref name="format"/>. The stream may later change format when an exact subscriber needs another one.
    /// </summary>
    public ValueTask<IVideoCapture> OpenAnyCaptureAsync(VideoFormat format, Func<VideoFormat, bool> accept, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accept);
        return OpenAsync(format, exact: false, accept, cancellationToken);
    }

    private async ValueTask<IVideoCapture> OpenAsync(VideoFormat format, bool exact, Func<VideoFormat, bool>? accept, CancellationToken cancellationToken)
    {
        // One open or restart at a time; frames keep flowing to existing subscribers meanwhile.
        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Session? running;
            lock (_gate)
            {
                running = _session;
                if (running is not null && (running.Format == format || (!exact && accept!(running.Format))))
                {
                    return Add(new Subscriber(this, running.Format, exact));
                }

                if (running is not null && exact && _subscribers.Any(s => s.Exact && s.Format != format))
                {
                    var other = _subscribers.First(s => s.Exact).Format;
                    throw new DeviceUnavailableException(Id, $"busy streaming {other} for another consumer, cannot also stream {format}");
                }
            }

            // Nobody reads, or only flexible subscribers do: (re)start the device at the wanted format.
            if (running is not null)
            {
                await running.StopAsync().ConfigureAwait(false);
            }

            var capture = await inner.OpenCaptureAsync(format, cancellationToken).ConfigureAwait(false);
            var session = new Session(this, capture);
            lock (_gate)
            {
                _session = session;
                foreach (var s in _subscribers)
                {
                    s.Format = session.Format;
                }

                var subscriber = Add(new Subscriber(this, session.Format, exact));
                session.Start();
                return subscriber;
            }
        }
        finally
        {
            _opening.Release();
        }
    }

    private readonly SemaphoreSlim _opening = new(1, 1);

    private Subscriber Add(Subscriber subscriber)
    {
        _subscribers.Add(subscriber);
        return subscriber;
    }

    private async ValueTask RemoveAsync(Subscriber subscriber)
    {
        // Serialised with opens: a new open must not reach the device before the last run has let go of it.
        await _opening.WaitAsync().ConfigureAwait(false);
        try
        {
            Session? stop = null;
            lock (_gate)
            {
                if (!_subscribers.Remove(subscriber))
                {
                    return;
                }

                if (_subscribers.Count == 0)
                {
                    stop = _session;
                    _session = null;
                }
            }

            if (stop is not null)
            {
                await stop.StopAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _opening.Release();
        }
    }

    /// <summary>Hands one device frame to every subscriber (directly when there is only one).</summary>
    private void Distribute(Session from, VideoFrame frame)
    {
        lock (_gate)
        {
            if (_session != from || _subscribers.Count == 0)
            {
                frame.Dispose();
                return;
            }

            if (_subscribers.Count == 1)
            {
                _subscribers[0].Offer(frame);
                return;
            }

            var shared = SharedFrame.Rent(frame, _subscribers.Count);
            foreach (var s in _subscribers)
            {
                s.Offer(Lease.Rent(shared));
            }
        }
    }

    /// <summary>The device stopped delivering (unplugged, driver error): every subscriber sees the error.</summary>
    private void Fail(Session from, Exception error)
    {
        lock (_gate)
        {
            if (_session != from)
            {
                return;
            }

            _session = null;
            foreach (var s in _subscribers)
            {
                s.Fail(error);
            }

            _subscribers.Clear();
        }
    }

    /// <summary>One streaming run of the device and the loop that reads it.</summary>
    // CA1001: StopAsync disposes the token source once the pump has stopped using it.
#pragma warning disable CA1001
    private sealed class Session(SharedCaptureCamera owner, IVideoCapture capture)
#pragma warning restore CA1001
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _pump = Task.CompletedTask;
        private int _closed;

        public VideoFormat Format => capture.Format;

        public void Start() => _pump = Task.Run(PumpAsync);

        private async Task PumpAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var frame = await capture.ReadFrameAsync(_stop.Token).ConfigureAwait(false);
                    owner.Distribute(this, frame);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
#pragma warning disable CA1031 // any device failure goes to the subscribers, who decide (failover, degraded call)
            catch (Exception e)
#pragma warning restore CA1031
            {
                owner.Fail(this, e);
                await CloseAsync().ConfigureAwait(false);
            }
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _pump.ConfigureAwait(false);
            await CloseAsync().ConfigureAwait(false);
            _stop.Dispose();
        }

        private async ValueTask CloseAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                await capture.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>A consumer's view: its own small queue of leased frames.</summary>
    private sealed class Subscriber : IVideoCapture
    {
        private readonly SharedCaptureCamera _owner;
        private readonly Channel<VideoFrame> _frames;
        private int _disposed;

        public Subscriber(SharedCaptureCamera owner, VideoFormat format, bool exact)
        {
            _owner = owner;
            Format = format;
            Exact = exact;
            // Two queued frames at most; the oldest goes back when a slow consumer falls behind.
            _frames = Channel.CreateBounded<VideoFrame>(
                new BoundedChannelOptions(2) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
                dropped => dropped.Dispose());
        }

        public VideoFormat Format { get; set; }

        public bool Exact { get; }

        public void Offer(VideoFrame frame)
        {
            if (!_frames.Writer.TryWrite(frame))
            {
                frame.Dispose(); // completed: we are closing
            }
        }

        public void Fail(Exception error) => _frames.Writer.TryComplete(error);

        public async ValueTask<VideoFrame> ReadFrameAsync(CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            try
            {
                return await _frames.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException e) when (e.InnerException is not null)
            {
                // The device failed: rethrow what it said (DeviceUnavailableException when unplugged).
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            _frames.Writer.TryComplete();
            await _owner.RemoveAsync(this).ConfigureAwait(false);
            while (_frames.Reader.TryRead(out var left))
            {
                left.Dispose();
            }
        }
    }

    /// <summary>A device frame with a count of the leases still out; pooled so that fan-out allocates nothing.</summary>
    private sealed class SharedFrame
    {
        private static readonly Stack<SharedFrame> Pool = new();
        private VideoFrame? _frame;
        private int _leases;

        public VideoFrame Frame => _frame!;

        public static SharedFrame Rent(VideoFrame frame, int leases)
        {
            SharedFrame s;
            lock (Pool)
            {
                s = Pool.Count > 0 ? Pool.Pop() : new SharedFrame();
            }

            s._frame = frame;
            s._leases = leases;
            return s;
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _leases) != 0)
            {
                return;
            }

            var frame = _frame!;
            _frame = null;
            frame.Dispose();
            lock (Pool)
            {
                Pool.Push(this);
            }
        }
    }

    /// <summary>One subscriber's hold on a <see cref="SharedFrame"/>.</summary>
    private sealed class Lease : VideoFrame
    {
        private static readonly Stack<Lease> Pool = new();
        private SharedFrame? _shared;

        public static Lease Rent(SharedFrame shared)
        {
            Lease l;
            lock (Pool)
            {
                l = Pool.Count > 0 ? Pool.Pop() : new Lease();
            }

            l._shared = shared;
            return l;
        }

        private VideoFrame Frame => (_shared ?? throw new ObjectDisposedException(nameof(VideoFrame))).Frame;

        public override VideoFormat Format => Frame.Format;

        public override TimeSpan Timestamp => Frame.Timestamp;

        public override long Sequence => Frame.Sequence;

        public override ReadOnlyMemory<byte> Data => Frame.Data;

        protected override void Release()
        {
            var shared = Interlocked.Exchange(ref _shared, null);
            if (shared is null)
            {
                return; // disposed twice
            }

            shared.Release();
            lock (Pool)
            {
                Pool.Push(this);
            }
        }
    }
}
