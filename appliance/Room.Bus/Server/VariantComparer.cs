using Tmds.DBus.Protocol;

namespace Room.Bus.Server;

/// <summary>
/// Deep equality of D-Bus values. VariantValue's own Equals compares containers by reference, which would make
/// every array-typed property look changed on every PropertiesChanged.
/// </summary>
public static class VariantComparer
{
    public static bool DeepEquals(VariantValue a, VariantValue b)
    {
        if (a.Type != b.Type)
        {
            return false;
        }

        switch (a.Type)
        {
            case VariantValueType.Array:
            case VariantValueType.Struct:
                if (a.Count != b.Count)
                {
                    return false;
                }

                for (var i = 0; i < a.Count; i++)
                {
                    if (!DeepEquals(a.GetItem(i), b.GetItem(i)))
                    {
                        return false;
                    }
                }

                return true;
            case VariantValueType.Dictionary:
                if (a.Count != b.Count)
                {
                    return false;
                }

                for (var i = 0; i < a.Count; i++)
                {
                    var (ka, va) = a.GetDictionaryEntry(i);
                    var (kb, vb) = b.GetDictionaryEntry(i);
                    if (!DeepEquals(ka, kb) || !DeepEquals(va, vb))
                    {
                        return false;
                    }
                }

                return true;
            case VariantValueType.Variant:
                return DeepEquals(a.GetVariantValue(), b.GetVariantValue());
            default:
                return a.Equals(b);
        }
    }
}
