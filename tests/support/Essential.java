import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;

/**
 * One of the few checks that prove a step's concept (an exit code, the rootfs, pivot_root, PID 1,
 * a limit): {@code @Tag("essential")}. An intermediate solution runs its own step's checks in full
 * and only the essential ones of the steps before it; the last solution, {@code ./build.sh test
 * --all} and the integrity checks run them all.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
@Tag(Essential.TAG)
@interface Essential {
    String TAG = "essential";
}
