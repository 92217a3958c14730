//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.oci;

import java.io.IOException;
import java.lang.reflect.Array;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

/**
 * Binds JSON documents to our classes with Jackson's streaming parser and generator, the way
 * Jackson's ObjectMapper binds them: public fields in declaration order (a record's components in
 * order), {@code @JsonProperty} names, {@code @JsonInclude} on the class or the field, a value type
 * (a digest) through its {@code @JsonValue} and {@code @JsonCreator}, unknown fields skipped, and
 * numbers and booleans read into strings as Jackson coerces them. The runtime's own documents
 * (config.json, state.json, the undo log, network.json) and the registries' (index, manifest,
 * image config) go through it.
 *
 * <p>Why not ObjectMapper: every run starts two JVMs, and each one's first ObjectMapper costs
 * ~45 ms of CPU (~30 ms to build the mapper, the rest to introspect Config) plus the compiler
 * threads' work on Jackson's code, about a sixth of a run's CPU. This binder knows only the types
 * our documents use (strings, numbers, booleans, enums, lists, arrays, string-keyed maps, nested
 * classes, records, value types) and costs a few milliseconds. It is no less strict: what is not
 * the declared type is refused, and the parser's limits (nesting depth, number and string
 * lengths) are jackson-core's own.
 */
final class JsonBinding {
    private JsonBinding() {}

    /**
     * One property of a class: its JSON name, its Java type, and where its value lives (a field, or
     * a record's component: its index and accessor).
     */
    private record Property(String name, Type type, Field field, int component, Method accessor, JsonInclude.Include include) {}

    /**
     * How a class maps to JSON: an object of properties; or, for a value type such as a digest, a
     * string, written by its {@code @JsonValue} method and read by its {@code @JsonCreator}.
     */
    private record Shape(List<Property> properties, Map<String, Property> byName, Constructor<?> constructor, boolean record,
            Method value, Method creator) {}

    private static final Map<Class<?>, Shape> SHAPES = new ConcurrentHashMap<>();

    // ------------------------------------------------------------------------------------------
    // Writing
    // ------------------------------------------------------------------------------------------

    static void write(JsonGenerator g, Object value) throws IOException {
        if (value == null) {
            g.writeNull();
        } else if (value instanceof String s) {
            g.writeString(s);
        } else if (value instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            g.writeNumber(((Number) value).longValue());
        } else if (value instanceof Number n) {
            g.writeNumber(n.doubleValue());
        } else if (value instanceof Enum<?> e) {
            g.writeString(e.name());
        } else if (value instanceof Collection<?> c) {
            g.writeStartArray();
            for (Object o : c) write(g, o);
            g.writeEndArray();
        } else if (value.getClass().isArray()) {
            g.writeStartArray();
            for (int i = 0, n = Array.getLength(value); i < n; i++) write(g, Array.get(value, i));
            g.writeEndArray();
        } else if (value instanceof Map<?, ?> m) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                g.writeFieldName(String.valueOf(e.getKey()));
                write(g, e.getValue());
            }
            g.writeEndObject();
        } else {
            writeObject(g, value);
        }
    }

    private static void writeObject(JsonGenerator g, Object value) throws IOException {
        Shape shape = shapeOf(value.getClass());
        if (shape.value() != null) {
            write(g, invoke(shape.value(), value));
            return;
        }
        g.writeStartObject();
        for (Property p : shape.properties()) {
            Object v = get(value, p);
            if (!included(v, p.include())) continue;
            g.writeFieldName(p.name());
            write(g, v);
        }
        g.writeEndObject();
    }

    private static Object get(Object owner, Property p) throws IOException {
        if (p.accessor() != null) return invoke(p.accessor(), owner);
        try {
            return p.field().get(owner);
        } catch (IllegalAccessException e) {
            throw new IOException("cannot read " + owner.getClass().getSimpleName() + "." + p.name(), e);
        }
    }

    /** Calls {@code m}; what it throws (a creator refusing its value) arrives as the cause of an IOException. */
    private static Object invoke(Method m, Object target, Object... args) throws IOException {
        try {
            return m.invoke(target, args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw new IOException(String.valueOf(e.getCause().getMessage()), e.getCause());
        } catch (IllegalAccessException e) {
            throw new IOException("cannot call " + m, e);
        }
    }

    /** Jackson's rules: NON_NULL drops null; NON_EMPTY drops null and empty strings, collections, maps, arrays. */
    private static boolean included(Object v, JsonInclude.Include include) {
        switch (include) {
            case NON_NULL:
                return v != null;
            case NON_EMPTY:
                if (v == null) return false;
                if (v instanceof String s) return !s.isEmpty();
                if (v instanceof Collection<?> c) return !c.isEmpty();
                if (v instanceof Map<?, ?> m) return !m.isEmpty();
                if (v.getClass().isArray()) return Array.getLength(v) > 0;
                return true;
            default:
                return true;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Reading
    // ------------------------------------------------------------------------------------------

    /** Reads the value at the parser's current token as a {@code type}. */
    static Object read(JsonParser p, Type type) throws IOException {
        JsonToken t = p.currentToken();
        Class<?> raw = rawOf(type);
        if (t == JsonToken.VALUE_NULL) return zero(raw);
        if (raw == String.class) {
            if (t.isScalarValue()) return p.getText();
            throw mismatch(p, "a string");
        }
        if (raw == boolean.class || raw == Boolean.class) {
            if (t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) return t == JsonToken.VALUE_TRUE;
            if (t == JsonToken.VALUE_STRING && (p.getText().equals("true") || p.getText().equals("false"))) {
                return Boolean.parseBoolean(p.getText());
            }
            throw mismatch(p, "true or false");
        }
        if (raw == int.class || raw == Integer.class) return (int) readLong(p, Integer.MIN_VALUE, Integer.MAX_VALUE);
        if (raw == long.class || raw == Long.class) return readLong(p, Long.MIN_VALUE, Long.MAX_VALUE);
        if (raw == double.class || raw == Double.class) {
            if (t.isNumeric()) return p.getDoubleValue();
            throw mismatch(p, "a number");
        }
        if (raw.isEnum()) {
            for (Object c : raw.getEnumConstants()) {
                if (t == JsonToken.VALUE_STRING && ((Enum<?>) c).name().equals(p.getText())) return c;
            }
            throw mismatch(p, "one of " + List.of(raw.getEnumConstants()));
        }
        if (raw == Object.class) return readAny(p);
        if (List.class.isAssignableFrom(raw) || raw == Collection.class) return readElements(p, argument(type, 0));
        if (raw.isArray()) {
            Type element = type instanceof GenericArrayType a ? a.getGenericComponentType() : raw.getComponentType();
            List<Object> list = readElements(p, element);
            Object array = Array.newInstance(raw.getComponentType(), list.size());
            for (int i = 0; i < list.size(); i++) Array.set(array, i, list.get(i));
            return array;
        }
        if (Map.class.isAssignableFrom(raw)) {
            if (t != JsonToken.START_OBJECT) throw mismatch(p, "an object");
            Type valueType = argument(type, 1);
            Map<String, Object> map = new LinkedHashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                p.nextToken();
                map.put(key, read(p, valueType));
            }
            return map;
        }
        Shape shape = shapeOf(raw);
        if (shape.creator() != null) {
            if (!t.isScalarValue()) throw mismatch(p, "a string");
            return invoke(shape.creator(), null, read(p, shape.creator().getGenericParameterTypes()[0]));
        }
        if (t != JsonToken.START_OBJECT) throw mismatch(p, "an object");
        return readObject(p, raw, shape);
    }

    /** The elements of the array at the parser's current token, each read as an {@code element}. */
    private static List<Object> readElements(JsonParser p, Type element) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) throw mismatch(p, "an array");
        List<Object> list = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) list.add(read(p, element));
        return list;
    }

    private static Object readObject(JsonParser p, Class<?> raw, Shape shape) throws IOException {
        Object[] components = shape.record() ? defaults(shape) : null;
        Object value = shape.record() ? null : construct(shape.constructor());
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            Property property = shape.byName().get(p.currentName());
            p.nextToken();
            if (property == null) {
                p.skipChildren();   // an unknown field: a newer writer's, ignored as the spec asks
                continue;
            }
            Object v = read(p, property.type());
            if (shape.record()) {
                components[property.component()] = v;
            } else {
                try {
                    property.field().set(value, v);
                } catch (IllegalAccessException e) {
                    throw new IOException("cannot set " + raw.getSimpleName() + "." + property.name(), e);
                }
            }
        }
        return shape.record() ? construct(shape.constructor(), components) : value;
    }

    private static long readLong(JsonParser p, long min, long max) throws IOException {
        JsonToken t = p.currentToken();
        long v;
        if (t == JsonToken.VALUE_NUMBER_INT) {
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) throw mismatch(p, "an integer in range");
            v = p.getLongValue();
        } else if (t == JsonToken.VALUE_STRING) {
            try {
                v = Long.parseLong(p.getText().trim());
            } catch (NumberFormatException e) {
                throw mismatch(p, "an integer");
            }
        } else {
            throw mismatch(p, "an integer");
        }
        if (v < min || v > max) throw mismatch(p, "an integer in range");
        return v;
    }

    /** An {@code Object}'s value: maps, lists, strings, numbers, booleans and null, as they come. */
    private static Object readAny(JsonParser p) throws IOException {
        switch (p.currentToken()) {
            case START_OBJECT:
                return read(p, Map.class);
            case START_ARRAY:
                return read(p, List.class);
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT:
                return p.getNumberValue();
            case VALUE_TRUE:
                return true;
            case VALUE_FALSE:
                return false;
            default:
                return null;
        }
    }

    private static IOException mismatch(JsonParser p, String wanted) {
        String at = p.getParsingContext().getCurrentName();
        return new IOException("want " + wanted + (at == null ? "" : " for \"" + at + "\"") + ", found "
                + p.currentToken() + " at line " + p.currentLocation().getLineNr());
    }

    // ------------------------------------------------------------------------------------------
    // Shapes
    // ------------------------------------------------------------------------------------------

    private static Shape shapeOf(Class<?> type) {
        return SHAPES.computeIfAbsent(type, JsonBinding::shape);
    }

    private static Shape shape(Class<?> type) {
        Method value = null;
        Method creator = null;
        for (Method m : type.getDeclaredMethods()) {
            if (m.isAnnotationPresent(JsonValue.class) && m.getParameterCount() == 0) value = m;
            if (m.isAnnotationPresent(JsonCreator.class) && Modifier.isStatic(m.getModifiers()) && m.getParameterCount() == 1) creator = m;
        }
        if (value != null || creator != null) {
            if (value == null || creator == null) {
                throw new IllegalStateException(type.getName() + " needs both @JsonValue and a static one-argument @JsonCreator");
            }
            value.setAccessible(true);
            creator.setAccessible(true);
            return new Shape(List.of(), Map.of(), null, false, value, creator);
        }
        JsonInclude.Include classInclude = includeOf(type.getAnnotation(JsonInclude.class), JsonInclude.Include.ALWAYS);
        List<Property> properties = new ArrayList<>();
        Constructor<?> constructor;
        if (type.isRecord()) {
            RecordComponent[] rc = type.getRecordComponents();
            Class<?>[] types = new Class<?>[rc.length];
            for (int i = 0; i < rc.length; i++) {
                types[i] = rc[i].getType();
                Method accessor = rc[i].getAccessor();
                accessor.setAccessible(true);   // a record need not be public (network.json's)
                properties.add(new Property(nameOf(rc[i].getAnnotation(JsonProperty.class), rc[i].getName()),
                        rc[i].getGenericType(), null, i, accessor, includeOf(rc[i].getAnnotation(JsonInclude.class), classInclude)));
            }
            try {
                constructor = type.getDeclaredConstructor(types);
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException("record " + type.getName() + " has no canonical constructor", e);
            }
        } else {
            // Declaration order, which HotSpot's getDeclaredFields keeps and Jackson writes in. Our
            // document classes extend nothing, so their own fields are all there is.
            for (Field f : type.getDeclaredFields()) {
                int m = f.getModifiers();
                if (!Modifier.isPublic(m) || Modifier.isStatic(m) || Modifier.isTransient(m)) continue;
                properties.add(new Property(nameOf(f.getAnnotation(JsonProperty.class), f.getName()),
                        f.getGenericType(), f, -1, null, includeOf(f.getAnnotation(JsonInclude.class), classInclude)));
            }
            try {
                constructor = type.getDeclaredConstructor();
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException(type.getName() + " has no constructor without arguments", e);
            }
        }
        constructor.setAccessible(true);
        Map<String, Property> byName = new LinkedHashMap<>();
        for (Property p : properties) byName.put(p.name(), p);
        return new Shape(List.copyOf(properties), byName, constructor, type.isRecord(), null, null);
    }

    private static String nameOf(JsonProperty p, String javaName) {
        return p == null || p.value().isEmpty() ? javaName : p.value();
    }

    private static JsonInclude.Include includeOf(JsonInclude a, JsonInclude.Include otherwise) {
        if (a == null || a.value() == JsonInclude.Include.USE_DEFAULTS) return otherwise;
        return a.value();
    }

    /** A record's components before any is read: what a missing one gets. */
    private static Object[] defaults(Shape shape) {
        Object[] values = new Object[shape.properties().size()];
        for (Property p : shape.properties()) values[p.component()] = zero(rawOf(p.type()));
        return values;
    }

    /** What null, or nothing, reads as: Java's zero of a primitive type, else null (as Jackson reads it). */
    private static Object zero(Class<?> type) {
        if (type == boolean.class) return false;
        if (type == int.class) return 0;
        if (type == long.class) return 0L;
        if (type == double.class) return 0.0;
        return null;
    }

    private static Object construct(Constructor<?> c, Object... args) throws IOException {
        try {
            return c.newInstance(args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw new IOException(String.valueOf(e.getCause().getMessage()), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IOException("cannot make a " + c.getDeclaringClass().getSimpleName(), e);
        }
    }

    private static Class<?> rawOf(Type type) {
        if (type instanceof Class<?> c) return c;
        if (type instanceof ParameterizedType p) return (Class<?>) p.getRawType();
        if (type instanceof GenericArrayType a) return Array.newInstance(rawOf(a.getGenericComponentType()), 0).getClass();
        return Object.class;   // a type variable or wildcard: whatever comes
    }

    private static Type argument(Type type, int index) {
        if (type instanceof ParameterizedType p && p.getActualTypeArguments().length > index) {
            Type a = p.getActualTypeArguments()[index];
            return a instanceof Class<?> || a instanceof ParameterizedType || a instanceof GenericArrayType ? a : Object.class;
        }
        return Object.class;
    }
}
