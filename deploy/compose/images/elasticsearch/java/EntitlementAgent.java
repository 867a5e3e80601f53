package org.elasticsearch.entitlement.agent;

import java.lang.instrument.Instrumentation;

/**
 * The entitlement agent of the Elasticsearch distribution (not published on Maven Central): the
 * server attaches it to itself and names, as its argument, the class whose static
 * initialize(Instrumentation) installs the entitlement checks.
 */
public final class EntitlementAgent {
    public static void agentmain(String initializerClassName, Instrumentation instrumentation) throws Exception {
        Class<?> initializer = Class.forName(initializerClassName);
        initializer.getMethod("initialize", Instrumentation.class).invoke(null, instrumentation);
    }
}
