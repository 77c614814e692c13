using System.Buffers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Room.Crypto.Certificates;

namespace Room.Fleet.Channel;

/// <summary>A publish the broker did not take (an MQTT 5 reason code, e.g. NotAuthorized from its ACL).</summary>
public sealed class FleetPublishException(string topic, MqttClientPublishReasonCode code)
    : Exception($"the broker refused the publish on {topic}: {code}")
{
    public MqttClientPublishReasonCode Code { get; } = code;
}

/// <summary>A subscription the broker did not grant (e.g. NotAuthorized from its ACL).</summary>
public sealed class FleetSubscribeException(string filter, MqttClientSubscribeResultCode code)
    : Exception($"the broker refused the subscription to {filter}: {code}")
{
    public MqttClientSubscribeResultCode Code { get; } = code;
}

/// <summary>
/// One MQTT 5 connection to the fleet broker with mutual TLS: the client's certificate from the PEM files, the broker's
/// certificate checked against the given CA only (chain and host name; the system's roots are not trusted).
/// The room's channel (<see cref="FleetChannel"/>) and the admin's (<see cref="FleetAdminClient"/>) are built on it.
/// </summary>
public sealed class FleetConnection : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _certificate;
    private readonly FleetChannelOptions _options;
    private string? _brokerRefusal; // why the last TLS handshake refused the broker, for the connect error

    public FleetConnection(FleetChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _ca = X509Certificate2.CreateFromPem(File.ReadAllText(options.CaFile));
        _certificate = X509Certificate2.CreateFromPemFile(options.CertificateFile, options.KeyFile);
        Identity = _certificate.GetNameInfo(X509NameType.SimpleName, false);
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            var handler = MessageReceived;
            return handler is null ? Task.CompletedTask : handler(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), e.ApplicationMessage.Retain);
        };
        _client.DisconnectedAsync += e =>
        {
            var handler = Disconnected;
            return handler is null ? Task.CompletedTask : handler(e.ReasonString ?? e.Reason.ToString());
        };
    }

    /// <summary>The CN of the client certificate: the user name the broker's ACL knows this client by.</summary>
    public string Identity { get; }

    public bool IsConnected => _client.IsConnected;

    /// <summary>A message arrived: topic, payload, retained.</summary>
    public event Func<string, byte[], bool, Task>? MessageReceived;

    /// <summary>The connection dropped (the reason as the client saw it).</summary>
    public event Func<string, Task>? Disconnected;

    /// <summary>Connects (clean start); with <paramref name="will"/> the broker publishes it (retained) if the connection drops without a DISCONNECT.</summary>
    public async Task ConnectAsync((string Topic, byte[] Payload)? will, CancellationToken cancellationToken)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(Identity + "/" + Guid.NewGuid().ToString("N")[..8])
            .WithCleanStart(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(_options.KeepAliveSeconds))
            .WithTimeout(TimeSpan.FromSeconds(30))
            .WithTlsOptions(tls => tls
                .UseTls()
                .WithTargetHost(_options.Host)
                .WithClientCertificates(new X509Certificate2Collection(_certificate))
                .WithCertificateValidationHandler(e => ValidateBroker(e.Certificate, e.SslPolicyErrors)));
        if (will is { } w)
        {
            builder = builder.WithWillTopic(w.Topic).WithWillPayload(w.Payload).WithWillRetain(true)
                .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        }

        _brokerRefusal = null;
        MqttClientConnectResult result;
        try
        {
            result = await _client.ConnectAsync(builder.Build(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (_brokerRefusal is { } why)
        {
            throw new InvalidOperationException($"the fleet broker {_options.Host}:{_options.Port} is not trusted: {why}", e);
        }

        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"the fleet broker refused the connection: {result.ResultCode} {result.ReasonString}");
        }
    }

    /// <summary>The broker's certificate must chain to the fleet CA (only) and name the host connected to.</summary>
    private bool ValidateBroker(X509Certificate? presented, SslPolicyErrors errors)
    {
        using var leaf = presented is null ? null : X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        _brokerRefusal = ServerCertificateTrust.Check(leaf, _ca, errors);
        return _brokerRefusal is null;
    }

    /// <summary>Publishes at QoS 1 and waits for the broker's PUBACK; a refusal (an ACL's NotAuthorized) throws <see cref="FleetPublishException"/>.</summary>
    public async Task PublishAsync(string topic, byte[] payload, bool retain, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithRetainFlag(retain)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build();
        var result = await _client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            throw new FleetPublishException(topic, result.ReasonCode);
        }
    }

    /// <summary>Subscribes at QoS 1; a filter the broker does not grant throws <see cref="FleetSubscribeException"/>.</summary>
    public async Task SubscribeAsync(IEnumerable<string> filters, CancellationToken cancellationToken)
    {
        var builder = new MqttClientSubscribeOptionsBuilder();
        foreach (var f in filters)
        {
            builder = builder.WithTopicFilter(t => t.WithTopic(f).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        }

        var result = await _client.SubscribeAsync(builder.Build(), cancellationToken).ConfigureAwait(false);
        foreach (var item in result.Items)
        {
            if (item.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
            {
                throw new FleetSubscribeException(item.TopicFilter.Topic, item.ResultCode);
            }
        }
    }

    /// <summary>A clean DISCONNECT: the broker drops the will.</summary>
    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await DisconnectAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException)
        {
        }

        _client.Dispose();
        _certificate.Dispose();
        _ca.Dispose();
    }
}
