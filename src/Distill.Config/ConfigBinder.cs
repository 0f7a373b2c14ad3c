using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;

namespace Distill.Config;

/// <summary>
/// Strict binding of a configuration tree onto plain options classes (public parameterless constructor, public
/// settable properties; YAML keys are the snake_case property names). Keys that are absent keep the class's
/// defaults. Unknown keys, values of the wrong type, <see cref="RangeAttribute"/> and other validation attribute
/// failures, missing <see cref="RequiredAttribute"/> keys and <see cref="IValidatable"/> messages are all collected,
/// each with its location and full key path.
/// </summary>
/// <remarks>
/// Supported property types: string, bool, int, long, float, double, enums, their nullable forms, arrays,
/// List/IList/IReadOnlyList/IEnumerable of those, Dictionary/IDictionary/IReadOnlyDictionary with string keys, and
/// nested options classes. Reference-typed properties accept null only when declared nullable (<c>string?</c>).
/// Validation attributes apply to values written in the configuration, not to defaults; a [Range] on a list
/// property applies to each item. [Required] means the key must be written.
/// </remarks>
public static class ConfigBinder
{
    /// <summary>Binds <paramref name="node"/> to a new <typeparamref name="T"/>; throws every problem at once.</summary>
    /// <param name="path">The key path of <paramref name="node"/> in its file, prefixed to error paths.</param>
    public static T Bind<T>(ConfigMapping node, string path = "") where T : class, new()
    {
        var errors = new List<ConfigError>();
        var result = Bind<T>(node, path, errors);
        if (errors.Count > 0)
            throw new ConfigException(errors);
        return result;
    }

    public static T Bind<T>(ConfigMapping node, string path, List<ConfigError> errors) where T : class, new() =>
        (T)new Binder(errors).BindObject(typeof(T), null, node, path);

    private sealed class Binder(List<ConfigError> errors)
    {
        private readonly NullabilityInfoContext _nullability = new();
        private readonly Dictionary<Type, OptionsShape> _shapes = [];
        // Paths of values that failed to bind (not of validation-hook messages, which never hide each other).
        private readonly HashSet<string> _errorPaths = new(StringComparer.Ordinal);
        // Whether the member being bound accepts an infinite number (<see cref="AllowInfinityAttribute"/>).
        private bool _infinityAllowed;

        public object BindObject(Type type, object? existing, ConfigMapping mapping, string path)
        {
            var shape = ShapeOf(type);
            var instance = existing ?? Activator.CreateInstance(type)!;
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in mapping.Entries)
            {
                var keyPath = YamlReader.Join(path, entry.Key);
                if (!shape.Members.TryGetValue(entry.Key, out var member))
                {
                    if (type.GetCustomAttributes<ConfigRenamedAttribute>().FirstOrDefault(r => r.OldName == entry.Key) is { } renamed)
                    {
                        AddError(entry.KeyLocation, keyPath, $"'{renamed.OldName}' is now '{renamed.NewName}': rename the key ({renamed.Reason})");
                        continue;
                    }
                    var suggestion = Suggestions.Closest(entry.Key, shape.Keys);
                    AddError(entry.KeyLocation, keyPath, suggestion is not null
                        ? $"unknown key (did you mean '{suggestion}'?)"
                        : $"unknown key (expected one of: {string.Join(", ", shape.Keys)})");
                    continue;
                }
                written.Add(entry.Key);
                var current = member.Property.GetValue(instance);
                var outer = _infinityAllowed;
                _infinityAllowed = member.Property.IsDefined(typeof(AllowInfinityAttribute));
                bool converted = TryConvert(member.Property.PropertyType, member.Nullability, entry.Value, keyPath, current, out var value);
                _infinityAllowed = outer;
                if (converted)
                {
                    CheckAttributes(member, instance, value, entry.Value, keyPath);
                    member.Property.SetValue(instance, value);
                }
            }

            foreach (var member in shape.Ordered)
            {
                if (member.IsRequired && !written.Contains(member.Key))
                    AddError(mapping.Location, YamlReader.Join(path, member.Key), "missing required key");
            }

            if (instance is IValidatable validatable)
                ReportValidation(validatable, mapping, path);
            return instance;
        }

        private void ReportValidation(IValidatable validatable, ConfigMapping mapping, string path)
        {
            foreach (var message in validatable.Validate())
            {
                var fullPath = message.Key is null ? path : YamlReader.Join(path, message.Key);
                // A value that failed to bind left a default behind; a check that read it would only repeat the
                // first error in other words, or contradict it.
                if (HasErrorAtOrBelow(fullPath) || message.DependsOn.Any(k => HasErrorAtOrBelow(YamlReader.Join(path, k))))
                    continue;
                errors.Add(new ConfigError(Locate(mapping, message.Key), fullPath, message.Message));
            }
        }

        private static ConfigLocation Locate(ConfigMapping mapping, string? relativePath)
        {
            ConfigNode node = mapping;
            foreach (var segment in relativePath?.Split('.') ?? [])
            {
                ConfigNode? child = node switch
                {
                    ConfigMapping m => m[segment],
                    ConfigSequence s when int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < s.Count => s[i],
                    _ => null,
                };
                if (child is null)
                    break;
                node = child;
            }
            return node.Location;
        }

        private bool TryConvert(Type type, NullabilityInfo? nullability, ConfigNode node, string path, object? existing, out object? value)
        {
            value = null;
            var underlying = Nullable.GetUnderlyingType(type);
            if (node is ConfigScalar { IsNull: true })
            {
                if (underlying is not null || (!type.IsValueType && nullability?.WriteState == NullabilityState.Nullable))
                    return true;
                return Fail(node, path, $"expected {Expected(type)}, got null");
            }
            type = underlying ?? type;

            if (type == typeof(string))
            {
                if (node is not ConfigScalar text)
                    return Fail(node, path, $"expected a string, got {node.Describe()}");
                value = text.Value;
                return true;
            }
            if (type == typeof(bool))
            {
                if (node is ConfigScalar s && YamlScalars.TryBool(s, out var b))
                {
                    value = b;
                    return true;
                }
                return Fail(node, path, $"expected true or false, got {node.Describe()}");
            }
            if (type == typeof(int) || type == typeof(long))
                return TryConvertInteger(type, node, path, out value);
            if (type == typeof(double) || type == typeof(float))
            {
                if (node is not ConfigScalar s || !YamlScalars.TryFloat(s, out var d))
                    return Fail(node, path, $"expected a number, got {node.Describe()}");
                // NaN or infinity (1e400 overflows to it) would only fail later, far from the key, or silently poison training.
                if (double.IsNaN(d) || (double.IsInfinity(d) && !_infinityAllowed))
                    return Fail(node, path, $"{s.Value} is not a finite number" + (double.IsNaN(d) || s.Value.Contains(".inf", StringComparison.OrdinalIgnoreCase) ? "" : $" (it overflows to {(d > 0 ? "" : "-")}infinity)"));
                if (type == typeof(float))
                {
                    if (double.IsFinite(d) && Math.Abs(d) > float.MaxValue)
                        return Fail(node, path, $"{s.Value} does not fit in a 32-bit float");
                    value = (float)d;
                }
                else
                {
                    value = d;
                }
                return true;
            }
            if (type.IsEnum)
                return TryConvertEnum(type, node, path, out value);
            if (type.IsArray)
            {
                if (!TryConvertItems(type.GetElementType()!, nullability?.ElementType, node, path, out var items))
                    return false;
                var array = Array.CreateInstance(type.GetElementType()!, items.Count);
                for (var i = 0; i < items.Count; i++)
                    array.SetValue(items[i], i);
                value = array;
                return true;
            }
            if (IsListType(type, out var itemType))
            {
                if (!TryConvertItems(itemType, nullability?.GenericTypeArguments[0], node, path, out var items))
                    return false;
                var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(itemType))!;
                foreach (var item in items)
                    list.Add(item);
                value = list;
                return true;
            }
            if (IsDictionaryType(type, out var valueType))
                return TryConvertDictionary(valueType, nullability?.GenericTypeArguments[1], node, path, out value);
            if (type.IsClass && type.GetConstructor(Type.EmptyTypes) is not null)
            {
                if (node is not ConfigMapping mapping)
                    return Fail(node, path, $"expected a mapping, got {node.Describe()}");
                value = BindObject(type, existing, mapping, path);
                return true;
            }
            throw new InvalidOperationException($"configuration property type {type} is not supported by the binder");
        }

        private bool TryConvertInteger(Type type, ConfigNode node, string path, out object? value)
        {
            value = null;
            if (node is ConfigScalar s && YamlScalars.TryInteger(s, out var n, out var fits))
            {
                if (!fits || (type == typeof(int) && n is < int.MinValue or > int.MaxValue))
                    return Fail(node, path, $"{s.Value} does not fit in a {(type == typeof(int) ? 32 : 64)}-bit integer");
                value = type == typeof(int) ? (object)(int)n : n;
                return true;
            }
            return Fail(node, path, $"expected an integer, got {node.Describe()}");
        }

        private bool TryConvertEnum(Type type, ConfigNode node, string path, out object? value)
        {
            value = null;
            var members = type.GetFields(BindingFlags.Public | BindingFlags.Static);
            if (node is ConfigScalar s)
            {
                foreach (var field in members)
                {
                    if (s.Value == field.Name || s.Value == ConfigNames.NameOf(field) || s.Value == ConfigNames.ToSnakeCase(field.Name))
                    {
                        value = field.GetValue(null);
                        return true;
                    }
                }
            }
            var names = members.Select(ConfigNames.NameOf).ToList();
            var suggestion = node is ConfigScalar text ? Suggestions.Closest(text.Value, names) : null;
            return Fail(node, path, $"expected one of {string.Join(", ", names)}; got {node.Describe()}"
                + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)"));
        }

        private bool TryConvertItems(Type itemType, NullabilityInfo? itemNullability, ConfigNode node, string path, out List<object?> items)
        {
            items = [];
            if (node is not ConfigSequence sequence)
                return Fail(node, path, $"expected a list, got {node.Describe()}");
            var ok = true;
            for (var i = 0; i < sequence.Count; i++)
            {
                var itemPath = YamlReader.Join(path, i.ToString(CultureInfo.InvariantCulture));
                ok &= TryConvert(itemType, itemNullability, sequence[i], itemPath, null, out var item);
                items.Add(item);
            }
            return ok;
        }

        private bool TryConvertDictionary(Type valueType, NullabilityInfo? valueNullability, ConfigNode node, string path, out object? value)
        {
            value = null;
            if (node is not ConfigMapping mapping)
                return Fail(node, path, $"expected a mapping, got {node.Describe()}");
            var dictionary = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), valueType))!;
            var ok = true;
            foreach (var entry in mapping.Entries)
            {
                if (TryConvert(valueType, valueNullability, entry.Value, YamlReader.Join(path, entry.Key), null, out var item))
                    dictionary[entry.Key] = item;
                else
                    ok = false;
            }
            value = dictionary;
            return ok;
        }

        private void CheckAttributes(OptionsMember member, object instance, object? value, ConfigNode node, string path)
        {
            foreach (var attribute in member.Property.GetCustomAttributes<ValidationAttribute>())
            {
                switch (attribute)
                {
                    case RequiredAttribute required:
                        if (value is null)
                            AddError(node.Location, path, "must not be null");
                        else if (value is string { Length: 0 } && !required.AllowEmptyStrings)
                            AddError(node.Location, path, "must not be empty");
                        break;
                    case RangeAttribute range when value is not null:
                        if (value is IEnumerable items and not string && node is ConfigSequence sequence)
                        {
                            var i = 0;
                            foreach (var item in items)
                            {
                                CheckRange(range, item, sequence[i], YamlReader.Join(path, i.ToString(CultureInfo.InvariantCulture)));
                                i++;
                            }
                        }
                        else
                        {
                            CheckRange(range, value, node, path);
                        }
                        break;
                    case LengthAttribute length when value is not null:
                        CheckCount(value, node, path, length.MinimumLength, length.MaximumLength);
                        break;
                    case MinLengthAttribute min when value is not null:
                        CheckCount(value, node, path, min.Length, int.MaxValue);
                        break;
                    case MaxLengthAttribute max when value is not null:
                        CheckCount(value, node, path, 0, max.Length < 0 ? int.MaxValue : max.Length);
                        break;
                    default:
                        var context = new ValidationContext(instance) { MemberName = member.Property.Name, DisplayName = member.Key };
                        var result = attribute.GetValidationResult(value, context);
                        if (result != ValidationResult.Success)
                            AddError(node.Location, path, result?.ErrorMessage ?? "is not valid");
                        break;
                }
            }
        }

        private void CheckRange(RangeAttribute range, object? value, ConfigNode node, string path)
        {
            if (value is null)
                return;
            if (value is not (int or long or float or double) || range.Minimum is string || range.Maximum is string)
            {
                if (!range.IsValid(value))
                    AddError(node.Location, path, range.FormatErrorMessage(path));
                return;
            }
            var x = Convert.ToDouble(value, CultureInfo.InvariantCulture);
            var min = Convert.ToDouble(range.Minimum, CultureInfo.InvariantCulture);
            var max = Convert.ToDouble(range.Maximum, CultureInfo.InvariantCulture);
            // double.MaxValue or int.MaxValue as a bound means "no bound", so .inf passes [Range(0, double.MaxValue)].
            var aboveMin = Unbounded(min) || (range.MinimumIsExclusive ? x > min : x >= min);
            var belowMax = Unbounded(max) || (range.MaximumIsExclusive ? x < max : x <= max);
            if (!aboveMin || !belowMax || double.IsNaN(x))
                AddError(node.Location, path, $"{Raw(node, value)} is out of range: {DescribeRange(range, min, max)}");
        }

        private static bool Unbounded(double bound) => double.IsInfinity(bound) || Math.Abs(bound) >= int.MaxValue;

        private static string DescribeRange(RangeAttribute range, double min, double max)
        {
            static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
            if (Unbounded(max))
                return $"must be {(range.MinimumIsExclusive ? ">" : ">=")} {F(min)}";
            if (Unbounded(min))
                return $"must be {(range.MaximumIsExclusive ? "<" : "<=")} {F(max)}";
            return $"must be in {(range.MinimumIsExclusive ? "(" : "[")}{F(min)}, {F(max)}{(range.MaximumIsExclusive ? ")" : "]")}";
        }

        private void CheckCount(object value, ConfigNode node, string path, int min, int max)
        {
            var (count, unit) = value switch
            {
                string s => (s.Length, "characters"),
                ICollection c => (c.Count, "items"),
                _ => (-1, ""),
            };
            if (count < 0 || (count >= min && count <= max))
                return;
            var expected = min == max ? $"exactly {min}"
                : max == int.MaxValue ? $"at least {min}"
                : min == 0 ? $"at most {max}"
                : $"between {min} and {max}";
            AddError(node.Location, path, $"expected {expected} {unit}, got {count}");
        }

        private static string Raw(ConfigNode node, object value) =>
            node is ConfigScalar s ? s.Value : Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";

        private static string Expected(Type type)
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (type == typeof(string))
                return "a string";
            if (type == typeof(bool))
                return "true or false";
            if (type == typeof(int) || type == typeof(long))
                return "an integer";
            if (type == typeof(float) || type == typeof(double))
                return "a number";
            if (type.IsEnum)
                return "one of " + string.Join(", ", type.GetFields(BindingFlags.Public | BindingFlags.Static).Select(ConfigNames.NameOf));
            if (type.IsArray || IsListType(type, out _))
                return "a list";
            return "a mapping";
        }

        private bool Fail(ConfigNode node, string path, string message)
        {
            AddError(node.Location, path, message);
            return false;
        }

        private void AddError(ConfigLocation location, string path, string message)
        {
            errors.Add(new ConfigError(location, path, message));
            _errorPaths.Add(path);
        }

        private bool HasErrorAtOrBelow(string path) =>
            path.Length == 0
                ? _errorPaths.Count > 0
                : _errorPaths.Any(p => p == path || p.StartsWith(path + ".", StringComparison.Ordinal));

        private static bool IsListType(Type type, out Type itemType)
        {
            itemType = typeof(object);
            if (!type.IsGenericType)
                return false;
            var definition = type.GetGenericTypeDefinition();
            if (definition != typeof(List<>) && definition != typeof(IList<>) && definition != typeof(IReadOnlyList<>)
                && definition != typeof(ICollection<>) && definition != typeof(IReadOnlyCollection<>) && definition != typeof(IEnumerable<>))
                return false;
            itemType = type.GetGenericArguments()[0];
            return true;
        }

        private static bool IsDictionaryType(Type type, out Type valueType)
        {
            valueType = typeof(object);
            if (!type.IsGenericType)
                return false;
            var definition = type.GetGenericTypeDefinition();
            if (definition != typeof(Dictionary<,>) && definition != typeof(IDictionary<,>) && definition != typeof(IReadOnlyDictionary<,>))
                return false;
            var args = type.GetGenericArguments();
            if (args[0] != typeof(string))
                throw new InvalidOperationException($"configuration dictionaries need string keys: {type}");
            valueType = args[1];
            return true;
        }

        private OptionsShape ShapeOf(Type type)
        {
            if (_shapes.TryGetValue(type, out var shape))
                return shape;
            var members = new Dictionary<string, OptionsMember>(StringComparer.Ordinal);
            var ordered = new List<OptionsMember>();
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (property.GetIndexParameters().Length > 0 || property.SetMethod is not { IsPublic: true })
                    continue;
                var key = ConfigNames.KeyOf(property);
                var member = new OptionsMember(key, property, _nullability.Create(property));
                if (!members.TryAdd(key, member))
                    throw new InvalidOperationException($"{type.Name}: two properties map to the configuration key '{key}'");
                ordered.Add(member);
            }
            shape = new OptionsShape(members, ordered);
            _shapes[type] = shape;
            return shape;
        }
    }

    /// <summary>The bindable properties of an options type, by key and in declaration order.</summary>
    private sealed record OptionsShape(Dictionary<string, OptionsMember> Members, List<OptionsMember> Ordered)
    {
        public IEnumerable<string> Keys => Ordered.Select(m => m.Key);
    }

    private sealed record OptionsMember(string Key, PropertyInfo Property, NullabilityInfo Nullability)
    {
        public bool IsRequired { get; } = Property.IsDefined(typeof(RequiredAttribute));
    }
}
