using Microsoft.Extensions.Options;
using Room.ControllerUi.Localization;

namespace Room.ControllerUi.Services;

/// <summary>
/// Language and contrast of the panel. One panel, one display: a choice holds for the device (and survives
/// a page reload) until it is changed again.
/// </summary>
public sealed class PanelPreferences(IOptions<ControllerUiOptions> options)
{
    private volatile Texts _texts = Texts.For(options.Value.Language);
    private volatile bool _highContrast;

    public event Action? Changed;

    public Texts Texts => _texts;

    public bool HighContrast => _highContrast;

    public void SetLanguage(string language)
    {
        _texts = Texts.For(language);
        Changed?.Invoke();
    }

    public void SetHighContrast(bool on)
    {
        _highContrast = on;
        Changed?.Invoke();
    }
}
