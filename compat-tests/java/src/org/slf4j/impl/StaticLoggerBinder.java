package org.slf4j.impl;

import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.helpers.FormattingTuple;
import org.slf4j.helpers.MarkerIgnoringBase;
import org.slf4j.helpers.MessageFormatter;

/**
 * Minimal slf4j 1.7 binding so the Kafka client's warnings reach stderr (the
 * wheel ships slf4j-api without a binding).  Level from env COMPAT_JAVA_LOG (or BENCH_JAVA_LOG)
 * (TRACE, DEBUG, INFO, WARN (default), ERROR, OFF).
 */
public final class StaticLoggerBinder {
    public static String REQUESTED_API_VERSION = "1.6.99";
    private static final StaticLoggerBinder SINGLETON = new StaticLoggerBinder();
    private final ILoggerFactory factory = new Factory();

    public static StaticLoggerBinder getSingleton() { return SINGLETON; }
    public ILoggerFactory getLoggerFactory() { return factory; }
    public String getLoggerFactoryClassStr() { return Factory.class.getName(); }

    static final int LEVEL;
    static {
        String l = System.getenv().getOrDefault("COMPAT_JAVA_LOG", System.getenv().getOrDefault("BENCH_JAVA_LOG", "WARN")).toUpperCase();
        switch (l) {
            case "TRACE": LEVEL = 0; break;
            case "DEBUG": LEVEL = 1; break;
            case "INFO": LEVEL = 2; break;
            case "ERROR": LEVEL = 4; break;
            case "OFF": LEVEL = 5; break;
            default: LEVEL = 3;
        }
    }

    static final class Factory implements ILoggerFactory {
        private final ConcurrentHashMap<String, Logger> loggers = new ConcurrentHashMap<>();
        public Logger getLogger(String name) { return loggers.computeIfAbsent(name, Log::new); }
    }

    static final class Log extends MarkerIgnoringBase {
        private static final String[] NAMES = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
        Log(String name) { this.name = name; }
        private void emit(int lvl, FormattingTuple t) {
            if (lvl < LEVEL) return;
            String n = name.substring(name.lastIndexOf('.') + 1);
            System.err.printf("[java %tT %s %s] %s%n", System.currentTimeMillis(), NAMES[lvl], n, t.getMessage());
            if (t.getThrowable() != null && LEVEL <= 1) t.getThrowable().printStackTrace();
            else if (t.getThrowable() != null) System.err.println("    " + t.getThrowable());
        }
        private void log(int l, String m) { if (l >= LEVEL) emit(l, new FormattingTuple(m)); }
        private void log(int l, String f, Object a) { if (l >= LEVEL) emit(l, MessageFormatter.format(f, a)); }
        private void log(int l, String f, Object a, Object b) { if (l >= LEVEL) emit(l, MessageFormatter.format(f, a, b)); }
        private void log(int l, String f, Object... a) { if (l >= LEVEL) emit(l, MessageFormatter.arrayFormat(f, a)); }
        private void log(int l, String m, Throwable t) { if (l >= LEVEL) emit(l, new FormattingTuple(m, null, t)); }

        public boolean isTraceEnabled() { return LEVEL <= 0; }
        public void trace(String m) { log(0, m); }
        public void trace(String f, Object a) { log(0, f, a); }
        public void trace(String f, Object a, Object b) { log(0, f, a, b); }
        public void trace(String f, Object... a) { log(0, f, a); }
        public void trace(String m, Throwable t) { log(0, m, t); }
        public boolean isDebugEnabled() { return LEVEL <= 1; }
        public void debug(String m) { log(1, m); }
        public void debug(String f, Object a) { log(1, f, a); }
        public void debug(String f, Object a, Object b) { log(1, f, a, b); }
        public void debug(String f, Object... a) { log(1, f, a); }
        public void debug(String m, Throwable t) { log(1, m, t); }
        public boolean isInfoEnabled() { return LEVEL <= 2; }
        public void info(String m) { log(2, m); }
        public void info(String f, Object a) { log(2, f, a); }
        public void info(String f, Object a, Object b) { log(2, f, a, b); }
        public void info(String f, Object... a) { log(2, f, a); }
        public void info(String m, Throwable t) { log(2, m, t); }
        public boolean isWarnEnabled() { return LEVEL <= 3; }
        public void warn(String m) { log(3, m); }
        public void warn(String f, Object a) { log(3, f, a); }
        public void warn(String f, Object a, Object b) { log(3, f, a, b); }
        public void warn(String f, Object... a) { log(3, f, a); }
        public void warn(String m, Throwable t) { log(3, m, t); }
        public boolean isErrorEnabled() { return LEVEL <= 4; }
        public void error(String m) { log(4, m); }
        public void error(String f, Object a) { log(4, f, a); }
        public void error(String f, Object a, Object b) { log(4, f, a, b); }
        public void error(String f, Object... a) { log(4, f, a); }
        public void error(String m, Throwable t) { log(4, m, t); }
    }
}
