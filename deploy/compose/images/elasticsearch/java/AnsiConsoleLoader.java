package org.elasticsearch.io.ansi;

import java.util.function.Supplier;

/**
 * Stands in for the distribution's ANSI console library (not published on Maven Central): the
 * server asks it for a coloured console and, as in a container, there is none.
 */
@SuppressWarnings("rawtypes")
public final class AnsiConsoleLoader implements Supplier {
    @Override
    public Object get() {
        return null;
    }
}
