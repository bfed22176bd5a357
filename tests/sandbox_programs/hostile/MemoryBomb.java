// Hold on to ever more arrays: the JVM's heap is sized to the run's memory limit.
import java.util.ArrayList;

public class MemoryBomb {
  public static void main(String[] args) {
    ArrayList<long[]> keep = new ArrayList<>();
    while (true) keep.add(new long[8 << 20]);
  }
}
