using System.Reflection;
using Room.Devices;

namespace Room.HwTests.Lab;

/// <summary>
/// Finds Room.Devices' Linux device provider without naming it, so the suite builds before the drivers land
/// and picks them up as soon as they do: any public non-simulated <see cref="IDeviceProvider"/> whose
/// constructor parameters all have defaults or are loggers.
/// </summary>
public static class ProviderLocator
{
    public static IDeviceProvider? TryCreate(out string why)
    {
        var candidates = typeof(IDeviceProvider).Assembly.GetExportedTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IDeviceProvider).IsAssignableFrom(t)
                        && !(t.Namespace ?? "").Contains("Simulated", StringComparison.Ordinal))
            .ToList();
        if (candidates.Count == 0)
        {
            why = "Room.Devices has no Linux device provider yet (only the simulated one)";
            return null;
        }

        foreach (var type in candidates)
        {
            foreach (var ctor in type.GetConstructors().OrderBy(c => c.GetParameters().Length))
            {
                var args = new List<object?>();
                var ok = true;
                foreach (var p in ctor.GetParameters())
                {
                    if (TryArgument(p, out var value))
                    {
                        args.Add(value);
                    }
                    else
                    {
                        ok = false;
                        break;
                    }
                }

                if (ok)
                {
                    why = type.FullName ?? type.Name;
                    return (IDeviceProvider)ctor.Invoke([.. args]);
                }
            }
        }

        why = "no constructible provider among " + string.Join(", ", candidates.Select(c => c.Name));
        return null;
    }

    private static bool TryArgument(ParameterInfo p, out object? value)
    {
        var t = p.ParameterType;
        if (t.FullName == "Microsoft.Extensions.Logging.ILoggerFactory")
        {
            value = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
            return true;
        }

        if (t.FullName == "Microsoft.Extensions.Logging.ILogger")
        {
            value = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
            return true;
        }

        if (t.IsGenericType && t.GetGenericTypeDefinition().FullName == "Microsoft.Extensions.Logging.ILogger`1")
        {
            var nullLogger = typeof(Microsoft.Extensions.Logging.Abstractions.NullLogger<>).MakeGenericType(t.GetGenericArguments());
            value = nullLogger.GetField("Instance", BindingFlags.Public | BindingFlags.Static)?.GetValue(null);
            return value is not null;
        }

        if (p.HasDefaultValue)
        {
            value = p.DefaultValue;
            return true;
        }

        if (Nullable.GetUnderlyingType(t) is not null || (!t.IsValueType && new NullabilityInfoContext().Create(p).WriteState == NullabilityState.Nullable))
        {
            value = null;
            return true;
        }

        value = null;
        return false;
    }
}
