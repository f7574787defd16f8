from jobmill.cli import main

main()
