from linkpaper.cli import main

raise SystemExit(main())
